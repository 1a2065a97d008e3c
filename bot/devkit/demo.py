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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TextIO, TypeVar

from bot.clock import today_in
from bot.devkit import transcript
from bot.devkit.local import PEOPLE, LocalBot
from bot.devkit.standin import DriverResponse, Message
from bot.devkit.standin.driver import find_element
from bot.views import ids
from storage import outbox as outbox_rows

T = TypeVar("T")

REPORTER = "U0REPORTR1"
OFFICER = "U0OFFICER1"  # triage: acknowledges, assesses, proposes, records the duties, closes
OFFICER2 = "U0OFFICER2"  # triage: owns the corrective measure and carries it out
APPROVER = "U0APPROVE1"  # approves the measure (not its proposer: four eyes)
APPROVER2 = "U0APPROVE2"  # waives one partner notice
PARTNER = "U0PARTNER1"  # of another workspace, in every partner channel (Slack Connect)
ACME_CONTACT = "U0ACMECON1"  # ACME Distribution's listed contact
GENERAL = "C0GENERAL1"
WAIT_SECONDS = 30.0  # far above what a step takes (about 1 s: the outbox paces a channel)
QUIET_SECONDS = 0.25  # no Web API call for this long: the bot has finished the step
OUTBOX_SOON = timedelta(seconds=5)  # retries within this are still part of the step
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
        self.names = {
            **PEOPLE,
            PARTNER: "Pat Partner (Northwind Bank, another workspace)",
            self.standin.bot_user_id: "Nonconformity bot",
        }
        self._seen = _Seen()
        # modals already submitted (by id and callback: an "update" answer keeps the id)
        self._filled: set[str] = set()
        self._place = ""
        self._swept = 0.0

    # ------------------------------------------------------------ what people do

    def command(self, user: str, channel: str, text: str) -> None:
        self._at(self._channel_place(channel))
        self._line(f"{self.names[user]} types  /nonconformity {text}")
        self._ok(self.bot.driver.command(ids.COMMAND, text, user=user, channel=channel), text)

    def fill_modal(
        self,
        user: str,
        values: Mapping[str, Any] | Callable[[dict[str, Any]], Mapping[str, Any]],
        *,
        read: bool = False,
    ) -> None:
        """The user's open modal appears, they fill in ``values`` (or what ``values(view)``
        returns) and press its submit button; with ``read`` its text is printed first."""
        view = self.wait_for(f"a modal for {self.names[user]}", lambda: self._open_view(user))
        self._filled.add(_filled_key(view))
        if callable(values):
            values = values(view)
        title = transcript.text_object(view.get("title"), self.names)
        submit = transcript.text_object(view.get("submit"), self.names) or "Submit"
        self._line(f"a modal “{title}” opens for {self.names[user]}, who fills it in:")
        for block in view.get("blocks", []):
            if read and block.get("type") in ("section", "context"):
                for line in transcript.blocks([block], self.names):
                    self._line(f"    ┆ {line}")
            if block.get("type") == "input" and block.get("block_id") in values:
                label = transcript.text_object(block.get("label"), self.names)
                element = block.get("element", {})
                shown = transcript.chosen(element, values[block["block_id"]], self.names)
                self._line(f"    {label}: {shown}")
        self._line(f"and clicks [{submit}]")
        response = self.bot.driver.submit(view["id"], user=user, values=dict(values))
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

    def choose(self, user: str, message: Message, action_id: str, label: str) -> None:
        """Pick the option labelled ``label`` in a menu of ``message``."""
        found = find_element(message.blocks or [], action_id)
        if found is None:
            raise DemoFailure(f"no {action_id} menu on the message {message.ts}")
        options = {
            transcript.text_object(o.get("text"), self.names): str(o.get("value"))
            for o in found[1].get("options") or []
        }
        if label not in options:
            raise DemoFailure(f"no “{label}” in the menu {action_id}: {sorted(options)}")
        self._at(self._message_place(message))
        self._line(
            f"{self.names[user]} chooses {transcript.element(found[1], self.names)} → {label}"
        )
        response = self.bot.driver.click(
            message.channel, message.ts, action_id, user=user, value=options[label]
        )
        self._ok(response, f"choosing “{label}”")

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

    def thread_message(self, starts: str) -> Message | None:
        """The thread reply whose text starts with ``starts`` (a panel kept current in place)."""
        for message in self.standin.thread(self.case.channel, self.case.card_ts):
            if message.is_reply and message.text.startswith(starts):
                return message
        return None

    def reads(self, message: Message) -> str:
        """What a person reads in ``message``, as one string."""
        return "\n".join(self._lines(message))

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
        views = [
            v for v in self.standin.open_views(user) if _filled_key(v.view) not in self._filled
        ]
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
        """Wait until the step has played out: Slack has heard nothing new for a moment, and
        the outbox owes nothing it would send within a few seconds (an edit waiting for the
        message it edits is part of this step, however busy the machine is)."""
        deadline = time.monotonic() + WAIT_SECONDS
        count, quiet_since = len(self.standin.calls()), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            self._sweep()
            now = len(self.standin.calls())
            if now != count:
                count, quiet_since = now, time.monotonic()
            elif time.monotonic() - quiet_since >= QUIET_SECONDS and self._outbox_idle():
                return

    def _outbox_idle(self) -> bool:
        if not self.bot.services.home.idle():
            return False  # an App Home refresh is still waiting for the step's last change
        with self.bot.services.db.read() as session:
            return outbox_rows.due_by(session, self.bot.clock() + OUTBOX_SOON) == 0


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


def today(demo: Demo) -> date:
    """The date where the sample organisation works (the bot refuses awareness to come)."""
    return today_in(demo.bot.workspace.timezone, demo.bot.clock())


ASSESSMENT = {
    "nature": "Approval rates for applicants over 60 fall outside the accuracy declared "
    "(Art. 15); a rejected applicant was hospitalised after losing housing finance.",
    "causal_link": "The May retraining used a sample without applicants over 60.",
    "risk": "yes",
    "serious_incident": "a_health",
    "member_states": ["NL", "BE"],
    "persons_affected": "1",
}
PLAN = {
    "plan": "Retrain 2.3 on a sample that includes applicants over 60; re-validate accuracy.",
    "owner": OFFICER2,
    "affected": "credit-scoring 2.3, all deployments",
    "keeps_running": "no",
    "art73_6": ["read"],
    "partner_ask": "Distributors: stop supplying 2.3 and tell us which customers hold it. "
    "Deployers: stop using 2.3 and install 2.4 when we send it.",
}
WAIVER = "EU Import GmbH was told by phone and confirmed by e-mail; it holds no stock."
DONE = {
    "evidence": "2.4 retrained and re-validated; every deployment runs 2.4.",
    "link": "https://example.com/releases/credit-scoring/2.4",
}
DUTIES = (
    (
        "investigate",
        {
            "findings": "The May retraining sample had no applicants over 60.",
            "how": "Root-cause review with the data team and Northwind Bank",
        },
    ),
    # The authority has a Slack channel: the modal shows the message; "Send it now" posts it.
    ("inform_authority", {"choice": "send"}),
    ("inform_notified_body", {"how": "E-mail to the certification desk", "reference": "CB-88"}),
    ("initial_report", {"how": "The authority's incident form", "reference": "MSA-2231"}),
    ("complete_report", {"how": "The authority's incident form, final", "reference": "MSA-2231"}),
)
DUTY_PANEL = "Duties to the authorities"
NOTICE_TABLE = "Partner notices"


def assess(demo: Demo) -> None:
    step = demo.step_message(ids.CONFIRM)
    if step is None:
        raise DemoFailure("no Confirm button in the thread")
    demo.click(OFFICER, step, ids.CONFIRM)
    aware = (today(demo) - timedelta(days=1)).isoformat()
    demo.fill_modal(OFFICER, {**ASSESSMENT, "aware_on": aware, "occurred_on": aware})
    demo.wait_for(
        "the duties panel with the Art. 73 deadline in the thread",
        lambda: _if(demo.thread_message(DUTY_PANEL), lambda m: "Art. 73" in m.text + str(m.blocks)),
    )
    demo.wait_for(
        "the choice of corrective action",
        lambda: demo.step_message(ids.MEASURE_PREFIX + "bring_into_conformity"),
    )
    demo.wait_for(
        "the card to show the Art. 73 deadline",
        lambda: _if(demo.card(), lambda c: "Art. 73 report due" in demo.reads(c)),
    )


def propose(demo: Demo) -> None:
    action = ids.MEASURE_PREFIX + "bring_into_conformity"
    step = demo.step_message(action)
    assert step is not None  # assess waited for it
    demo.click(OFFICER, step, action)
    target = (today(demo) + timedelta(days=14)).isoformat()

    def plan(view: dict[str, Any]) -> dict[str, Any]:
        if not any(b.get("block_id") == "art73_6" for b in view.get("blocks", [])):
            raise DemoFailure("the Art. 73(6) warning is missing from the measure modal")
        partners_by = (today(demo) + timedelta(days=7)).isoformat()
        return {**PLAN, "target_date": target, "partner_by": partners_by}

    demo.fill_modal(OFFICER, plan, read=True)
    demo.wait_for("the approval step", lambda: demo.step_message(ids.APPROVE))
    demo.wait_for(
        "the thread to record that the warning was shown",
        # on the answered step, which says once how it was answered
        lambda: next(
            (
                m
                for m in demo.standin.thread(demo.case.channel, demo.case.card_ts)
                if m.is_reply and "73(6)" in m.text
            ),
            None,
        ),
    )


def approve(demo: Demo) -> None:
    step = demo.step_message(ids.APPROVE)
    assert step is not None
    demo.click(APPROVER, step, ids.APPROVE)
    demo.wait_for("the Done step", lambda: demo.step_message(ids.DONE))
    for channel in PARTNER_CHANNELS:
        demo.wait_for(f"the partner notice in {channel}", _notice_in(demo, channel))
    demo.wait_for("the notice table in the thread", lambda: demo.thread_message(NOTICE_TABLE))


PARTNER_CHANNELS = ("C0ACMEDIST", "C0NORTHWND", "C0EUIMPORT")


def partners_acknowledge(demo: Demo) -> None:
    for user, channel in ((PARTNER, "C0NORTHWND"), (ACME_CONTACT, "C0ACMEDIST")):
        notice = demo.wait_for(f"the notice in {channel}", _notice_in(demo, channel))
        demo.click(user, notice, ids.NOTICE_ACK)
        demo.wait_for(
            f"the notice in {channel} to show the receipt",
            _notice_in(demo, channel, answered=True),
        )
        demo.show()  # what each partner sees, before the next one clicks


def waive(demo: Demo) -> None:
    table = demo.wait_for(
        "the Waive button on the notice table",
        lambda: _if(
            demo.thread_message(NOTICE_TABLE), lambda m: _find(m, ids.NOTICE_WAIVE) is not None
        ),
    )
    demo.click(APPROVER2, table, ids.NOTICE_WAIVE)

    def waiver(view: dict[str, Any]) -> dict[str, Any]:
        options = {
            transcript.text_object(o.get("text"), demo.names): o.get("value")
            for b in view.get("blocks", [])
            if b.get("block_id") == "notice"
            for o in b.get("element", {}).get("options", [])
        }
        if "EU Import GmbH" not in options:
            raise DemoFailure(f"EU Import GmbH is not among the open notices: {sorted(options)}")
        return {"notice": options["EU Import GmbH"], "reason": WAIVER}

    demo.fill_modal(APPROVER2, waiver)
    demo.wait_for(
        "the notice table to show every notice answered",
        lambda: _if(
            demo.thread_message(NOTICE_TABLE), lambda m: _find(m, ids.NOTICE_WAIVE) is None
        ),
    )


def carried_out(demo: Demo) -> None:
    step = demo.step_message(ids.DONE)
    assert step is not None
    demo.click(OFFICER2, step, ids.DONE)
    demo.fill_modal(OFFICER2, DONE)
    demo.wait_for("the Close step", lambda: demo.step_message(ids.CLOSE))


def record_duties(demo: Demo, duties: tuple[tuple[str, dict[str, Any]], ...]) -> None:
    for duty, values in duties:
        action = ids.DUTY_PREFIX + duty
        panel = demo.wait_for(f"the {duty} button on the duties panel", _panel(demo, action))
        demo.click(OFFICER, panel, action)
        demo.fill_modal(OFFICER, _keep_dates(values), read=duty == "inform_authority")
        demo.wait_for(f"the duties panel to show {duty} recorded", _panel(demo, action, done=True))
        if duty == "inform_authority":
            demo.wait_for(
                "the notice in the authority's channel",
                lambda: next(iter(demo.messages("C0AUTHORTY")), None),
            )


def investigate(demo: Demo) -> None:
    record_duties(demo, DUTIES[:1])


def inform(demo: Demo) -> None:
    record_duties(demo, DUTIES[1:3])


def report_incident(demo: Demo) -> None:
    record_duties(demo, DUTIES[3:])


def close(demo: Demo) -> None:
    step = demo.step_message(ids.CLOSE)
    assert step is not None
    demo.click(OFFICER, step, ids.CLOSE)
    demo.wait_for(
        "the card to show the case closed",
        lambda: _if(demo.card(), lambda c: "State: Closed" in demo.reads(c)),
    )


Step = Callable[[Demo], None]
STEPS: tuple[tuple[str, Step], ...] = (
    ("An engineer reports a suspected non-conformity", report_case),
    ("Triage acknowledges the case and takes ownership", acknowledge),
    ("Triage confirms it: a risk (Art. 79(1)) and a serious incident (Art. 73)", assess),
    ("Triage proposes to bring the system into conformity, past the Art. 73(6) warning", propose),
    ("Another person approves; the partners are notified (Art. 20(1))", approve),
    ("A partner of another workspace and ACME's contact acknowledge receipt", partners_acknowledge),
    ("An approver waives the last notice, with a reason", waive),
    ("The measure's owner marks it done, with evidence", carried_out),
    ("The causes are investigated (Art. 20(2))", investigate),
    ("The authority and the notified body are informed (Art. 20(2))", inform),
    ("The serious incident is reported, initially and completely (Art. 73)", report_incident),
    ("Triage closes the case", close),
)


# ---------------------------------------------------------------- two measures, one case
# ``nonconformity-bot demo --two-measures``: "Disable now, bring into conformity later" (issue
# 20). The system is disabled at once; once that is done, triage adds the lasting measure from
# the card's Change… menu, and it goes through its own approval, notices and Done.

DISABLE = {
    **{k: v for k, v in PLAN.items() if k != "art73_6"},
    "plan": "Disable 2.3 for every deployment until it is retrained.",
    "partner_ask": "Deployers: stop using 2.3 now; we tell you when 2.4 is ready.",
}
LATER = {
    **PLAN,
    "reason": "Disabling stops the harm; retraining brings the system into conformity.",
}


def propose_disable(demo: Demo) -> None:
    action = ids.MEASURE_PREFIX + "disable"
    step = demo.step_message(action)
    assert step is not None  # assess waited for the choice of corrective action
    demo.click(OFFICER, step, action)
    target = (today(demo) + timedelta(days=2)).isoformat()
    demo.fill_modal(OFFICER, {**DISABLE, "target_date": target})
    demo.wait_for("the approval step", lambda: demo.step_message(ids.APPROVE))


def add_measure(demo: Demo) -> None:
    demo.choose(OFFICER, demo.card(), ids.CHANGE, "Add a measure")
    demo.fill_modal(OFFICER, {"measure": "bring_into_conformity"})
    target = (today(demo) + timedelta(days=30)).isoformat()

    def plan(view: dict[str, Any]) -> dict[str, Any]:
        if not any(b.get("block_id") == "art73_6" for b in view.get("blocks", [])):
            raise DemoFailure("the Art. 73(6) warning is missing from the added measure")
        return {**LATER, "target_date": target}

    demo.fill_modal(OFFICER, plan, read=True)
    demo.wait_for("the second measure's approval step", lambda: demo.step_message(ids.APPROVE))


def approve_second(demo: Demo) -> None:
    step = demo.step_message(ids.APPROVE)
    assert step is not None
    demo.click(APPROVER, step, ids.APPROVE)
    demo.wait_for("the second measure's Done step", lambda: demo.step_message(ids.DONE))
    for channel in PARTNER_CHANNELS:
        demo.wait_for(f"the second notice in {channel}", _second_notice(demo, channel))


def partners_acknowledge_second(demo: Demo) -> None:
    for user, channel in ((PARTNER, "C0NORTHWND"), (ACME_CONTACT, "C0ACMEDIST")):
        notice = demo.wait_for(f"the second notice in {channel}", _second_notice(demo, channel))
        demo.click(user, notice, ids.NOTICE_ACK)
        demo.wait_for(
            f"the second notice in {channel} to show the receipt",
            _second_notice(demo, channel, answered=True),
        )
    demo.show()


TWO_MEASURES: tuple[tuple[str, Step], ...] = (
    ("An engineer reports a suspected non-conformity", report_case),
    ("Triage acknowledges the case and takes ownership", acknowledge),
    ("Triage confirms it: a risk (Art. 79(1)) and a serious incident (Art. 73)", assess),
    ("Triage proposes to disable the system now", propose_disable),
    ("Another person approves; the partners are notified (Art. 20(1))", approve),
    ("A partner of another workspace and ACME's contact acknowledge receipt", partners_acknowledge),
    ("An approver waives the last notice, with a reason", waive),
    ("The measure's owner marks it done: the system is disabled", carried_out),
    ("Triage adds a measure (Change… → Add a measure), past the Art. 73(6) warning", add_measure),
    ("Another person approves the second measure; partners are notified of it", approve_second),
    ("The partners acknowledge the second notice", partners_acknowledge_second),
    ("An approver waives the last notice of the second measure", waive),
    ("The second measure's owner marks it done, with evidence", carried_out),
    ("The causes are investigated (Art. 20(2))", investigate),
    ("The authority and the notified body are informed (Art. 20(2))", inform),
    ("The serious incident is reported, initially and completely (Art. 73)", report_incident),
    ("Triage closes the case: both measures carried out", close),
)


def _second_notice(
    demo: Demo, channel: str, *, answered: bool = False
) -> Callable[[], Message | None]:
    """The second measure's notice in ``channel`` (the newest of two); with ``answered``, only
    once its receipt is recorded."""

    def check() -> Message | None:
        notices = [m for m in demo.messages(channel) if not m.is_reply]
        if len(notices) < 2 or (answered and _find(notices[-1], ids.NOTICE_ACK) is not None):
            return None
        return notices[-1]

    return check


def _filled_key(view: Mapping[str, Any]) -> str:
    return f"{view.get('id')}:{view.get('callback_id')}"


def _if(found: T | None, test: Callable[[T], bool]) -> T | None:
    return found if found is not None and test(found) else None


def _find(message: Message, action_id: str) -> tuple[str, dict[str, Any]] | None:
    return find_element(message.blocks or [], action_id)


def _notice(demo: Demo, channel: str) -> Message | None:
    return next((m for m in demo.messages(channel) if not m.is_reply), None)


def _notice_in(demo: Demo, channel: str, *, answered: bool = False) -> Callable[[], Message | None]:
    """The partner notice in ``channel``; with ``answered``, only once it has no Acknowledge
    button left (the receipt is recorded)."""

    def check() -> Message | None:
        notice = _notice(demo, channel)
        if notice is None or (answered and _find(notice, ids.NOTICE_ACK) is not None):
            return None
        return notice

    return check


def _panel(demo: Demo, action: str, *, done: bool = False) -> Callable[[], Message | None]:
    """The duties panel while it offers ``action`` (or, with ``done``, once it no longer does)."""

    def check() -> Message | None:
        panel = demo.thread_message(DUTY_PANEL)
        if panel is None or (_find(panel, action) is None) != done:
            return None
        return panel

    return check


def _keep_dates(values: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def filled(view: dict[str, Any]) -> dict[str, Any]:
        return {**_initial_dates(view), **values}

    return filled


def _initial_dates(view: dict[str, Any]) -> dict[str, Any]:
    """The dates a modal proposes, kept as they are (the person does not change them)."""
    return {
        str(b["block_id"]): b["element"]["initial_date"]
        for b in view.get("blocks", [])
        if b.get("type") == "input" and b.get("element", {}).get("initial_date")
    }


def _case_number(message: Message) -> int:
    if message.is_reply:
        return 0
    found = re.match(r"NC-(\d+)\b", message.text)
    return int(found.group(1)) if found else 0


def _write_dossier(bot: LocalBot, number: int, folder: Path) -> None:
    from bot.dossier import art73
    from bot.dossier.formats import filename, render
    from bot.dossier.service import load_named

    dossier = load_named(bot.services.db, bot.services.names, number, now=bot.clock())
    folder.mkdir(parents=True, exist_ok=True)
    for fmt in ("md", "pdf", "json"):
        (folder / filename(dossier, fmt)).write_bytes(render(dossier, fmt))
    if dossier["authorities"]["art73"] is not None:  # the demo's case is a serious incident
        report = art73.draft(dossier, str(dossier["case"]["language"]))
        for fmt in ("md", "pdf"):
            (folder / art73.filename(report, fmt)).write_bytes(art73.render(report, fmt))


def run_demo(
    out: TextIO,
    err: TextIO = sys.stderr,
    steps: tuple[tuple[str, Step], ...] = STEPS,
    *,
    dossier_dir: str | None = None,
) -> int:
    """Play ``steps``; 0 when every step showed what it should, 1 otherwise. With
    ``dossier_dir``, the case's dossier is written there too (what docs/dossier.md shows)."""
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
            if dossier_dir:
                _write_dossier(bot, demo.case.number, Path(dossier_dir))
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
