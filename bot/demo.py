"""``nonconformity-bot demo``: one case played end to end here, printed as Slack shows it.

It starts the Slack stand-in and the real bot over HTTP on a temporary SQLite database
(:class:`bot.local.LocalBot`, the same harness as the end-to-end tests), then acts as the
sample workspace's people would: signed slash commands, modal submissions and button clicks
through the :class:`SlackDriver`. After each step it prints what appeared in Slack — new and
edited messages, thread replies, ephemeral answers — and checks that the step did what it
should; anything else (a refused Web API call, a missing reply) ends the demo with exit code 1
and one line saying what was expected.

The case is a list of small step functions (``STEPS``), so each issue that adds a step to the
Article 20 procedure adds one function here and the demo grows with the product.
"""

from __future__ import annotations

import re
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

from bot import transcript
from bot.local import PEOPLE, LocalBot
from bot.standin import DriverResponse, Message
from bot.standin.driver import find_element
from bot.views import ids

T = TypeVar("T")

REPORTER = "U0REPORTR1"
OFFICER = "U0OFFICER1"
GENERAL = "C0GENERAL1"
WAIT_SECONDS = 5.0  # far above what a step takes (about 1 s: the outbox paces a channel)
QUIET_SECONDS = 0.25  # no Web API call for this long: the bot has finished the step
SWEEP_SECONDS = 0.1  # the demo is the scheduler's clock, ticking faster than sweep_interval

REPORT = {
    "system": "credit-scoring",
    "title": "Scores drift for older applicants",
    "description": "Approval rates dropped by 30% for applicants over 60 since the May release.",
    "requirements": ["art10", "art15"],
    "risk": "yes",
    "severity": "high",
    "evidence": "https://example.com/monitoring/credit-scoring/drift-2024-05",
}


class DemoFailure(Exception):
    """A step did not produce what a person would have seen in Slack."""


@dataclass
class CaseSoFar:
    """What earlier steps found out and later steps need."""

    number: int = 0
    channel: str = ""
    card_ts: str = ""


@dataclass
class _Seen:
    calls: int = 0
    ephemerals: int = 0
    messages: dict[tuple[str, str], int] = field(default_factory=dict)  # -> update_count


class Demo:
    """The people's hands (driver calls, narrated) and eyes (what changed in Slack, printed)."""

    def __init__(self, bot: LocalBot, out: TextIO) -> None:
        self.bot = bot
        self.standin = bot.standin
        self.out = out
        self.case = CaseSoFar()
        self.names = {**PEOPLE, self.standin.bot_user_id: "Nonconformity bot"}
        self._seen = _Seen()
        self._place = ""
        self._swept = 0.0

    # ------------------------------------------------------------ what people do

    def command(self, user: str, channel: str, text: str) -> None:
        self._at(self._channel_place(channel))
        self._line(f"{self.names[user]} types  /nonconformity {text}")
        self._ok(self.bot.driver.command(ids.COMMAND, text, user=user, channel=channel), text)

    def fill_modal(self, user: str, values: dict[str, Any]) -> None:
        """The user's open modal appears, they fill in ``values`` and press its submit button."""
        view = self.wait_for(f"a modal for {self.names[user]}", lambda: self._open_view(user))
        title = transcript.text_object(view.get("title"), self.names)
        submit = transcript.text_object(view.get("submit"), self.names) or "Submit"
        self._line(f"a modal “{title}” opens for {self.names[user]}, who fills it in:")
        for block in view.get("blocks", []):
            if block.get("type") == "input" and block.get("block_id") in values:
                label = transcript.text_object(block.get("label"), self.names)
                shown = transcript.chosen(block.get("element", {}), values[block["block_id"]])
                self._line(f"    {label}: {shown}")
        self._line(f"and clicks [{submit}]")
        response = self.bot.driver.submit(view["id"], user=user, values=values)
        self._ok(response, f"submitting “{title}”")
        answer = response.json() if response.body.strip() else None
        if isinstance(answer, dict) and answer.get("response_action") == "errors":
            raise DemoFailure(f"the modal “{title}” was refused: {answer.get('errors')}")

    def click(self, user: str, message: Message, action_id: str) -> None:
        found = find_element(message.blocks or [], action_id)
        if found is None:
            raise DemoFailure(f"no {action_id} button on the message {message.ts}")
        label = transcript.element(found[1], self.names)
        self._at(self._message_place(message))
        self._line(f"{self.names[user]} clicks {label}")
        response = self.bot.driver.click(message.channel, message.ts, action_id, user=user)
        self._ok(response, f"the {label} click")

    # ------------------------------------------------------------ what people see

    def wait_for(self, what: str, check: Callable[[], T | None]) -> T:
        """Poll the stand-in until ``check`` finds something; fail the step after a while."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            self._sweep()
            self._refused()
            found = check()
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise DemoFailure(f"expected {what}, but it did not appear in {WAIT_SECONDS:.0f} s")
            time.sleep(0.02)

    def messages(self, channel: str) -> list[Message]:
        return self.standin.messages(channel)

    def card(self) -> Message:
        return self.standin.message(self.case.channel, self.case.card_ts)

    def new_replies(self) -> list[Message]:
        """Thread replies on the case card posted during the current step."""
        return [
            m
            for m in self.standin.thread(self.case.channel, self.case.card_ts)
            if m.is_reply and (m.channel, m.ts) not in self._seen.messages
        ]

    def step_message(self, action_id: str) -> Message | None:
        """The newest thread message that offers ``action_id``."""
        for message in reversed(self.standin.thread(self.case.channel, self.case.card_ts)):
            if find_element(message.blocks or [], action_id) is not None:
                return message
        return None

    def show(self) -> None:
        """Wait until the bot is quiet, then print what changed since the last ``show``."""
        self._settle()
        self._refused()
        events: list[tuple[str, str, str, list[str]]] = []  # (ts, place, who, lines)
        seen = self._seen
        with self.standin.ws.lock:
            channels = list(self.standin.ws.channels)
        current: dict[tuple[str, str], int] = {}
        for channel in channels:
            for message in self.messages(channel):
                key = (message.channel, message.ts)
                current[key] = message.update_count
                if key not in seen.messages:
                    events.append(
                        (message.ts, self._message_place(message), "", self._lines(message))
                    )
                elif message.update_count > seen.messages[key]:
                    edited = str(message.history[-1].get("edited_ts", message.ts))
                    events.append(
                        (edited, self._message_place(message), " (edited)", self._lines(message))
                    )
        ephemerals = self.standin.ephemerals()
        for eph in ephemerals[seen.ephemerals :]:
            place = f"{self._channel_place(eph.channel)} · only visible to {self.names[eph.user]}"
            events.append((eph.ts, place, "", transcript.blocks(eph.blocks, self.names, eph.text)))
        for _ts, place, edited, lines in sorted(events, key=lambda e: float(e[0])):
            self._at(place)
            self._line(f"{self.names[self.standin.bot_user_id]}{edited}:")
            for line in lines:
                self._line(f"  │ {line}")
        self._seen = _Seen(len(self.standin.calls()), len(ephemerals), current)

    # ------------------------------------------------------------ internals

    def _lines(self, message: Message) -> list[str]:
        return transcript.blocks(message.blocks, self.names, message.text)

    def _open_view(self, user: str) -> dict[str, Any] | None:
        views = self.standin.open_views(user)
        return views[-1].view if views else None

    def _channel_place(self, channel: str) -> str:
        info = self.standin.channel_info(channel)
        if info.is_im and info.im_user:
            return f"direct message to {self.names.get(info.im_user, info.im_user)}"
        return f"#{info.name}"

    def _message_place(self, message: Message) -> str:
        place = self._channel_place(message.channel)
        if not message.is_reply or message.thread_ts is None:
            return place
        parent = self.standin.message(message.channel, message.thread_ts)
        first = next(iter(self._lines(parent)), "").strip("= ")
        return f"{place} › thread “{first}”"

    def _at(self, place: str) -> None:
        if place != self._place:
            self._place = place
            self.out.write(f"\n  {place}\n")

    def _line(self, text: str) -> None:
        self.out.write(f"    {text}\n")

    def _ok(self, response: DriverResponse, what: str) -> None:
        if response.status != 200:
            raise DemoFailure(f"the bot answered {what} with HTTP {response.status}")

    def _refused(self) -> None:
        """A Web API call Slack refused, or a response_url post it rejected, fails the step."""
        for call in self.standin.calls()[self._seen.calls :]:
            if not call.response.get("ok", False):
                raise DemoFailure(f"Slack refused {call.method}: {call.response.get('error')}")
        for post in self.standin.response_posts():
            if post.status != 200:
                raise DemoFailure(f"Slack refused a response_url post: {post.error}")

    def _sweep(self) -> None:
        """What ``serve`` runs every ``sweep_interval``: deliveries and timers that are due.

        Part of what a step shows (the reporter's notice, for one) goes out from the outbox on
        a sweep, so the demo ticks the scheduler itself instead of waiting seconds for it.
        """
        if time.monotonic() - self._swept >= SWEEP_SECONDS:
            self.bot.sweep()
            self._swept = time.monotonic()

    def _settle(self) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        count, quiet_since = len(self.standin.calls()), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            self._sweep()
            now = len(self.standin.calls())
            if now != count:
                count, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET_SECONDS:
                return


# ---------------------------------------------------------------- the case, step by step


def report_case(demo: Demo) -> None:
    triage = demo.bot.workspace.triage_channel
    demo.command(REPORTER, GENERAL, f"report {REPORT['title']}")
    demo.fill_modal(REPORTER, REPORT)
    card = demo.wait_for(
        "the case card in the triage channel",
        lambda: next((m for m in demo.messages(triage) if _case_number(m)), None),
    )
    demo.case = CaseSoFar(_case_number(card), triage, card.ts)
    demo.wait_for("the guided thread on the card", lambda: demo.step_message(ids.ACKNOWLEDGE))
    demo.wait_for(
        "the reporter to be told the case number",
        lambda: next(
            (
                e
                for e in demo.standin.ephemerals(user=REPORTER)
                if f"NC-{demo.case.number}" in e.text
            ),
            None,
        ),
    )


def acknowledge(demo: Demo) -> None:
    step = demo.step_message(ids.ACKNOWLEDGE)
    assert step is not None  # report_case waited for it
    edits = demo.card().update_count
    demo.click(OFFICER, step, ids.ACKNOWLEDGE)
    demo.wait_for(
        "the card to show the case acknowledged",
        lambda: demo.card() if demo.card().update_count > edits else None,
    )
    demo.wait_for("the thread to move on to the next step", lambda: demo.new_replies() or None)


Step = Callable[[Demo], None]
STEPS: tuple[tuple[str, Step], ...] = (
    ("An engineer reports a suspected non-conformity", report_case),
    ("Triage acknowledges the case and takes ownership", acknowledge),
    # next steps, as the guided thread grows: confirm the non-conformity, choose the corrective
    # measure, approve it, mark it done, inform partners and authorities, close the case.
)


def _case_number(message: Message) -> int:
    if message.is_reply:
        return 0
    found = re.match(r"NC-(\d+)\b", message.text)
    return int(found.group(1)) if found else 0


def run_demo(
    out: TextIO, err: TextIO = sys.stderr, steps: tuple[tuple[str, Step], ...] = STEPS
) -> int:
    """Play ``steps``; 0 when every step showed what it should, 1 otherwise."""
    started = time.monotonic()
    out.write(
        "nonconformity-bot demo: one case, played by the people of the sample workspace on a\n"
        "local Slack stand-in, with the real bot over HTTP on a temporary SQLite database.\n"
    )
    try:
        with LocalBot() as bot:
            demo = Demo(bot, out)
            demo.show()  # start from a quiet workspace
            for number, (title, step) in enumerate(steps, start=1):
                out.write(f"\n▶ {number}/{len(steps)} · {title}\n")
                try:
                    step(demo)
                    demo.show()
                except DemoFailure as failure:
                    out.flush()
                    err.write(f"demo failed at step {number} ({title}): {failure}\n")
                    return 1
            calls = len(bot.standin.calls())
    except Exception as exc:  # the harness itself broke: say so in one line, then the detail
        out.flush()
        err.write(f"demo failed: {type(exc).__name__}: {exc}\n")
        traceback.print_exc(file=err)
        return 1
    out.write(
        f"\nDone: NC-{demo.case.number} went through {len(steps)} steps in "
        f"{time.monotonic() - started:.1f} s; Slack answered all {calls} Web API calls.\n"
    )
    return 0
