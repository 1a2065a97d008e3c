"""A burst (issue 23): many cases reported within a minute, each escalating while nobody
acknowledges it and then fanning out to its partners, against the stand-in with Slack's limits.

The real bot (``LocalBot``: waitress, Bolt, outbox, App Home, SQLite) runs with the scheduler
``serve`` runs (the sample workspace's ``sweep_interval`` of 2 s) on the real clock, against the
Slack stand-in with Slack's rate limits on (``set_limits``: every method's tier per workspace,
``chat.postMessage`` per channel; ``--scale`` runs Slack's clock faster, 1 is Slack's rates):

1. ``--cases`` critical cases on credit-scoring (three partners) are reported through the
   command and the modal, spread evenly over ``--within`` seconds;
2. nobody acknowledges them for ``--unacknowledged`` seconds, so the critical policy's
   escalations fire (level 1 after 10 s: both officers by DM; level 2 after 30 s and its
   repeats: the approvers' user group by DM and #managers);
3. then each case is acknowledged, assessed, given a measure and approved: the approval fans
   out a notice to each of its three partners, who never answer.

Then it waits until everything is settled (the outbox owes nothing, no App Home refresh waits)
and checks: nothing lost (every outbox row sent or deliberately skipped, one notice per partner
channel per case), nothing twice (no outbox row reached Slack twice, read from the message
metadata the stand-in holds), every card as the last rendering says and every published App
Home as the bot would render it now. Reported: calls by method, 429s received, the time until
settled.

    .venv/bin/python bench/burst.py                      # 100 cases at Slack's rates
    .venv/bin/python bench/burst.py --cases 100 --scale 10
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import re
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.delivery.senders import METADATA_EVENT
from bot.devkit.local import LocalBot
from bot.ops.workspace import load_workspace, sample_path
from bot.timers.scheduler import start_scheduler
from storage.models import Case, OutboxMessage

REPORTER, OFFICER, APPROVER = "U0REPORTR1", "U0OFFICER1", "U0APPROVE1"
TRIAGE, GENERAL = "C0TRIAGE01", "C0GENERAL1"
PARTNER_CHANNELS = ("C0ACMEDIST", "C0NORTHWND", "C0EUIMPORT")
REPORT = {
    "system": "credit-scoring",
    "title": "Scores drift",
    "description": "Approval rates dropped by 30% for applicants over 60.",
    "requirements": ["art15"],
    "risk": "yes",
    "severity": "critical",
    "evidence": "https://example.com/e/42",
}
ASSESSMENT = {
    "nature": "Accuracy below the declared level for applicants over 60 (Art. 15).",
    "causal_link": "Retraining sample without applicants over 60.",
    "risk": "yes",
    "serious_incident": "none",
    "aware_on": date.today().isoformat(),
}
MEASURE = {
    "plan": "Withdraw 2.3.",
    "owner": OFFICER,
    "target_date": "2099-12-15",
    "affected": "2.3",
    "keeps_running": "no",
}


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def report(bot: LocalBot) -> None:
    opened = len(bot.standin.calls("views.open"))
    bot.driver.command("/nonconformity", "report", user=REPORTER, channel=GENERAL)
    wait_for(lambda: len(bot.standin.calls("views.open")) > opened, 60, "the report modal")
    view = bot.driver.last_view(REPORTER)
    assert bot.driver.submit(view["id"], user=REPORTER, values=REPORT).status == 200


def card_ts(bot: LocalBot, number: int) -> str:
    def posted() -> str | None:
        with bot.services.db.read() as session:
            return session.scalar(select(Case.card_ts).where(Case.number == number))

    return str(wait_for(posted, 900, f"the card of NC-{number}"))


def press(
    bot: LocalBot, number: int, action_id: str, user: str, values: dict[str, Any] | None = None
) -> None:
    """Press ``action_id`` in case ``number``'s thread; fill in its modal."""
    root = card_ts(bot, number)

    def holder() -> Any:
        thread = bot.standin.thread(TRIAGE, root)
        return next((m for m in reversed(thread) if action_id in str(m.blocks)), None)

    message = wait_for(holder, 900, f"NC-{number}: a step with {action_id}")
    opened = len(bot.standin.calls("views.open"))
    assert bot.driver.click(TRIAGE, message.ts, action_id, user=user).status == 200
    if values is not None:
        wait_for(lambda: len(bot.standin.calls("views.open")) > opened, 120, "the modal")
        view = bot.driver.last_view(user)
        assert bot.driver.submit(view["id"], user=user, values=values).status == 200


def settled(bot: LocalBot) -> bool:
    with bot.services.db.read() as session:
        pending = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    return not pending and bot.services.home.idle()


def timeless(blocks: object) -> str:
    """A Home's blocks without the moment it says it shows ("As of …", once a second)."""
    return re.sub(r"As of <!date\^\d+\^[^>]*>", "As of", json.dumps(blocks, sort_keys=True))


def checks(bot: LocalBot, cases: int) -> dict[str, int]:
    """What was lost, what came twice, what is stale."""
    with bot.services.db.read() as session:
        rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        statuses = Counter(row.status for row in rows)
        last_card: dict[int, OutboxMessage] = {}
        for row in rows:  # in id order: the last one wins
            if row.kind in ("card_post", "card_update") and row.case_id is not None:
                last_card[row.case_id] = row
        cards = {c.id: (c.channel, c.card_ts) for c in session.scalars(select(Case)).all()}
    seen: Counter[int] = Counter()
    with bot.standin.ws.lock:
        messages = [m for ms in bot.standin.ws.messages.values() for m in ms]
    for message in messages:
        metadata = getattr(message, "metadata", None) or {}
        if metadata.get("event_type") == METADATA_EVENT:
            outbox_id = (metadata.get("event_payload") or {}).get("outbox_id")
            if outbox_id is not None:
                seen[int(outbox_id)] += 1
    notices = [
        len([m for m in bot.standin.messages(c) if not m.is_reply]) for c in PARTNER_CHANNELS
    ]
    stale_cards = 0
    for case_id, row in last_card.items():
        channel, ts = cards[case_id]
        shown = next((m for m in bot.standin.messages(channel) if m.ts == ts), None)
        if shown is None or shown.blocks != row.payload.get("blocks"):
            stale_cards += 1
            print(f"stale card: case id {case_id}, last row {row.id} {row.kind} {row.status}")
    stale_homes = 0
    with bot.standin.ws.lock:
        users = list(bot.standin.ws.homes)
    for user in users:
        published = bot.standin.published_home(user) or {}
        if timeless(published.get("blocks")) != timeless(bot.services.home.view(user)["blocks"]):
            stale_homes += 1
            shown, now = published.get("blocks") or [], bot.services.home.view(user)["blocks"]
            first = next(
                (
                    i
                    for i, (a, b) in enumerate(zip(shown, now, strict=False))
                    if timeless(a) != timeless(b)
                ),
                None,
            )
            detail = (
                f"block {first}: {shown[first]} -> {now[first]}"
                if first is not None
                else (f"{len(shown)} blocks -> {len(now)}")
            )
            print(f"stale App Home: {user}: {str(detail)[:600]}")
    return {
        "outbox rows": len(rows),
        "outbox rows lost (pending or failed)": statuses["pending"] + statuses["failed"],
        "outbox rows skipped on purpose": statuses["skipped"],
        "messages posted twice": sum(1 for n in seen.values() if n > 1),
        "partner channels without exactly one notice per case": sum(
            1 for n in notices if n != cases
        ),
        "cards not showing their last rendering": stale_cards,
        "App Homes not as the bot would render them now": stale_homes,
        "App Homes published": len(users),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--within", type=float, default=60.0, help="seconds to report them in")
    parser.add_argument("--unacknowledged", type=float, default=45.0)
    parser.add_argument("--scale", type=float, default=1.0, help="Slack's clock, times faster")
    args = parser.parse_args()
    faulthandler.register(signal.SIGUSR1)  # kill -USR1 <pid>: every thread's stack, if stuck
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("ncbot").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="burst-") as folder:
        workspace = load_workspace(sample_path())
        with LocalBot(workspace, database_url=f"sqlite:///{Path(folder) / 'bot.db'}") as bot:
            limits = bot.standin.set_limits(args.scale)
            assert limits is not None
            scheduler = start_scheduler(bot.services)
            # The staff and the reporter look at their App Home: only a Home opened lately is
            # refreshed when its cases change, and these are the ones checked at the end.
            roles = workspace.roles
            for user in dict.fromkeys([REPORTER, *roles.triage, *roles.approvers]):
                bot.driver.app_home_opened(user)
            try:
                started = time.monotonic()
                for n in range(args.cases):
                    report(bot)
                    pause = started + (n + 1) * args.within / args.cases - time.monotonic()
                    time.sleep(max(pause, 0.0))
                reported = time.monotonic() - started
                time.sleep(max(args.unacknowledged - (time.monotonic() - started - reported), 0))
                for number in range(1, args.cases + 1):
                    press(bot, number, "case_acknowledge", OFFICER)
                    press(bot, number, "case_confirm", OFFICER, ASSESSMENT)
                    press(bot, number, "measure_choose_withdraw", OFFICER, MEASURE)
                    press(bot, number, "measure_approve", APPROVER)
                walked = time.monotonic() - started
                wait_for(lambda: settled(bot), 3600, "everything delivered")
                until_settled = time.monotonic() - started
            finally:
                scheduler.shutdown(wait=True)
            # Partners never answer, so reminders go on firing and changing the Homes' lists:
            # compare once the clock's work has stopped and what it queued went out.
            wait_for(lambda: settled(bot), 3600, "the last firings delivered")
            found = checks(bot, args.cases)
            calls = bot.standin.calls()
    by_method = Counter(c.method for c in calls)
    refused = Counter(c.method for c in calls if c.status == 429)
    print(
        f"{args.cases} critical cases reported in {reported:.0f} s; escalations ran "
        f"{args.unacknowledged:.0f} s unacknowledged; Slack's limits at {args.scale:g}x"
    )
    print(f"{'method':<28}{'calls':>8}{'429':>8}")
    for method, count in by_method.most_common():
        print(f"{method:<28}{count:>8}{refused[method]:>8}")
    print(f"{'total':<28}{len(calls):>8}{sum(refused.values()):>8}")
    print(f"walked to approval after {walked:.0f} s; settled after {until_settled:.0f} s")
    for what, value in found.items():
        print(f"{what}: {value}")


if __name__ == "__main__":
    main()
