"""Partner fan-out (issue 6): wall time from the Approve click until every partner notice is
recorded as sent, for 1, 10 and 50 partner channels on one system.

The real bot (``bot.local.LocalBot``: HTTP server, Bolt app, outbox, SQLite) runs with the
scheduler ``serve`` runs (``bot.scheduler.start_scheduler``, ticking at the workspace's
``sweep_interval``) against the Slack stand-in, which enforces Slack's posting limit of one
``chat.postMessage`` per second per channel (``set_rate_limit(1)``; more gets a 429 with
Retry-After). The case is walked to "measure proposed" through signed Slack requests, then the
approver's click is timed until the database holds every notice as ``sent``.

    .venv/bin/python bench/fanout.py                    # 1, 10, 50 partners, 3 rounds each
    .venv/bin/python bench/fanout.py --partners 1 50 --rounds 1
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace, load_workspace, sample_path
from bot.timers.scheduler import start_scheduler
from storage.models import OutboxMessage, PartnerNotice

REPORTER, OFFICER, APPROVER = "U0REPORTR1", "U0OFFICER1", "U0APPROVE1"
TRIAGE, GENERAL = "C0TRIAGE01", "C0GENERAL1"
ROLES = ("distributor", "deployer", "importer", "authorised_representative")


def workspace_with(partners: int, folder: Path) -> Workspace:
    """The sample workspace with ``partners`` partners on credit-scoring, one channel each."""
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    listed = [
        {
            "id": f"partner-{i:02d}",
            "name": f"Partner {i:02d} B.V.",
            "role": ROLES[i % len(ROLES)],
            "channel": f"C0PART{i:04d}",
        }
        for i in range(partners)
    ]
    data["catalogue"]["partners"] = listed + [
        p
        for p in data["catalogue"]["partners"]
        if p["role"] not in ROLES  # authorities
    ]
    for system in data["catalogue"]["systems"]:
        system["partners"] = [p["id"] for p in listed] if system["id"] == "credit-scoring" else []
    path = folder / "workspace.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_workspace(path)


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.005)


def press(bot: LocalBot, action_id: str, user: str, values: dict[str, Any] | None = None) -> None:
    """Press ``action_id`` on the newest thread message that has it; fill in its modal."""

    def holder() -> Any:
        return next(
            (
                m
                for m in reversed(bot.standin.messages(TRIAGE))
                if m.is_reply and action_id in str(m.blocks)
            ),
            None,
        )

    message = wait_for(holder, 30, f"a step with {action_id}")
    opened = len(bot.standin.calls("views.open"))
    assert bot.driver.click(TRIAGE, message.ts, action_id, user=user).status == 200
    if values is not None:
        wait_for(lambda: len(bot.standin.calls("views.open")) > opened, 10, "the modal")
        view = bot.driver.last_view(user)
        assert bot.driver.submit(view["id"], user=user, values=values).status == 200


def to_measure_proposed(bot: LocalBot) -> None:
    opened = len(bot.standin.calls("views.open"))
    bot.driver.command("/nonconformity", "report", user=REPORTER, channel=GENERAL)
    wait_for(lambda: len(bot.standin.calls("views.open")) > opened, 10, "the report modal")
    report = {
        "system": "credit-scoring",
        "title": "Scores drift",
        "description": "Approval rates dropped by 30% for applicants over 60.",
        "requirements": ["art15"],
        "risk": "yes",
        "severity": "high",
        "evidence": "https://example.com/e/42",
    }
    bot.driver.submit(bot.driver.last_view(REPORTER)["id"], user=REPORTER, values=report)
    press(bot, "case_acknowledge", OFFICER)
    assessment = {
        "nature": "Accuracy below the declared level for applicants over 60 (Art. 15).",
        "causal_link": "Retraining sample without applicants over 60.",
        "risk": "yes",
        "serious_incident": "none",
        "aware_on": date.today().isoformat(),
    }
    press(bot, "case_confirm", OFFICER, assessment)
    measure = {
        "plan": "Withdraw 2.3.",
        "owner": OFFICER,
        "target_date": "2099-12-15",
        "affected": "2.3",
        "keeps_running": "no",
    }
    press(bot, "measure_choose_withdraw", OFFICER, measure)
    wait_for(
        lambda: any(
            m.is_reply and "measure_approve" in str(m.blocks) for m in bot.standin.messages(TRIAGE)
        ),
        30,
        "the approval step",
    )


def sent(bot: LocalBot) -> int:
    with bot.services.db.transaction() as session:
        count = session.scalar(
            select(func.count()).select_from(PartnerNotice).where(PartnerNotice.status == "sent")
        )
    return int(count or 0)


def retried(bot: LocalBot) -> int:
    """Partner notices that needed more than one attempt (a 429, a 5xx, a reset connection)."""
    with bot.services.db.transaction() as session:
        count = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "partner_notice", OutboxMessage.attempts > 1)
        )
    return int(count or 0)


def one_round(partners: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="fanout-") as folder:
        workspace = workspace_with(partners, Path(folder))
        with LocalBot(workspace, database_url=f"sqlite:///{Path(folder) / 'bot.db'}") as bot:
            bot.standin.set_rate_limit(1)
            scheduler = start_scheduler(bot.services)
            try:
                to_measure_proposed(bot)
                time.sleep(1.1)  # let the triage channel's rate-limit window pass
                posts_before = len(bot.standin.calls("chat.postMessage"))
                started = time.perf_counter()
                press(bot, "measure_approve", APPROVER)
                wait_for(lambda: sent(bot) == partners, 300, "every notice sent")
                elapsed = time.perf_counter() - started
                calls = bot.standin.calls("chat.postMessage")[posts_before:]
                channels = {f"C0PART{i:04d}" for i in range(partners)}
                landed = [
                    len([m for m in bot.standin.messages(c) if not m.is_reply]) for c in channels
                ]
                assert landed == [1] * partners, "a partner channel did not get exactly one notice"
                return {
                    "seconds": elapsed,
                    "retried": retried(bot),
                    "limited": sum(
                        1 for c in calls if c.status == 429 and c.args.get("channel") in channels
                    ),
                }
            finally:
                scheduler.shutdown(wait=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--partners", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("ncbot").setLevel(logging.CRITICAL)
    sweep = load_workspace(sample_path()).escalation.sweep_interval.total_seconds()
    print(f"stand-in: 1 chat.postMessage per second per channel; sweep_interval {sweep:g} s")
    results: dict[int, list[dict[str, float]]] = {}
    for n in args.partners:
        results[n] = [one_round(n) for _ in range(args.rounds)]
    base = statistics.median(r["seconds"] for r in results[args.partners[0]])
    print()
    print("| partner channels | rounds | median s | min s | max s | × first row | 429s | retried |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, rounds in results.items():
        times = [r["seconds"] for r in rounds]
        median = statistics.median(times)
        limited = sum(int(r["limited"]) for r in rounds)
        again = sum(int(r["retried"]) for r in rounds)
        print(
            f"| {n} | {len(rounds)} | {median:.2f} | {min(times):.2f} | {max(times):.2f} "
            f"| {median / base:.1f} | {limited} | {again} |"
        )


if __name__ == "__main__":
    main()
