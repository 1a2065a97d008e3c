"""Reminders end to end, on the same engine as escalation: a measure waiting for approval
reminds the approvers (never the one who proposed it); a measure past its target date reminds
its owner, then a day later the approvers. Approve and Done stop them.

The workspace's timers are the defaults: approval_pending after 24 h, repeating daily at most 3
times; measure_overdue at the end of the target day (Europe/Amsterdam) to the measure owner, 24 h
later to the approvers. Here the proposer is also an approver, so leaving them out shows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace, sample_path
from tests.scenarios import (
    APPROVER,
    APPROVER2,
    DONE_EVIDENCE,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    PROPOSER,
    case_events,
    case_row,
    decide,
    walk_to,
)

APPROVAL_TEXT = "has waited for approval"
OVERDUE_TEXT = "was due on 2026-12-15"
# The target day 2026-12-15 ends at midnight in Amsterdam: 23:00 UTC.
OVERDUE_AT = datetime(2026, 12, 15, 23, 0, tzinfo=UTC)


@pytest.fixture
def workspace() -> Workspace:
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    data["roles"]["approvers"] = [APPROVER, APPROVER2, PROPOSER]
    return Workspace.model_validate(data)


def reminders(bot: LocalBot, user: str, text: str) -> list[Any]:
    return [
        m
        for m in bot.standin.messages(user)
        if m.text.startswith("⏰") and "|NC-1>" in m.text and text in m.text
    ]


def reminded_events(bot: LocalBot, timer: str) -> list[dict[str, Any]]:
    return [
        e.payload["data"]
        for e in case_events(bot)
        if e.kind == "reminded" and e.payload["data"]["timer"] == timer
    ]


def tick(bot: LocalBot, clock: FakeClock, delta: timedelta = timedelta(0)) -> None:
    clock.advance(delta)
    bot.sweep()


def test_a_waiting_measure_reminds_the_approvers_not_the_proposer_until_approved(
    bot: LocalBot, clock: FakeClock
) -> None:
    walk_to(bot, "measure_proposed")
    tick(bot, clock, timedelta(hours=23, minutes=59))
    assert reminders(bot, APPROVER, APPROVAL_TEXT) == []
    tick(bot, clock, timedelta(minutes=1))
    for approver in (APPROVER, APPROVER2):
        [dm] = reminders(bot, approver, APPROVAL_TEXT)
        assert "Withdraw" in dm.text and "NC-1" in dm.text
    assert reminders(bot, PROPOSER, APPROVAL_TEXT) == []
    [event] = reminded_events(bot, "approval_pending")
    assert sorted(event["users"]) == sorted([APPROVER, APPROVER2])

    decide(bot, "measure_approve", APPROVER)
    for _ in range(5):
        tick(bot, clock, timedelta(days=1))
    for approver in (APPROVER, APPROVER2):
        assert len(reminders(bot, approver, APPROVAL_TEXT)) == 1
    assert len(reminded_events(bot, "approval_pending")) == 1


def test_an_approval_reminder_repeats_daily_at_most_three_times(
    bot: LocalBot, clock: FakeClock
) -> None:
    walk_to(bot, "measure_proposed")
    for _ in range(8):
        tick(bot, clock, timedelta(days=1))
    assert len(reminders(bot, APPROVER, APPROVAL_TEXT)) == 4
    assert [e["repeat"] for e in reminded_events(bot, "approval_pending")] == [0, 1, 2, 3]


def test_an_overdue_measure_reminds_its_owner_then_the_approvers_until_done(
    bot: LocalBot, clock: FakeClock
) -> None:
    walk_to(bot, "measure_approved")
    assert MEASURE_PLAN["owner"] == OFFICER2 and MEASURE_PLAN["target_date"] == "2026-12-15"
    clock.now = OVERDUE_AT - timedelta(minutes=1)  # the last minute of the target day
    tick(bot, clock)
    assert reminders(bot, OFFICER2, OVERDUE_TEXT) == []
    tick(bot, clock, timedelta(minutes=1))
    assert len(reminders(bot, OFFICER2, OVERDUE_TEXT)) == 1
    assert reminders(bot, APPROVER, OVERDUE_TEXT) == []
    tick(bot, clock, timedelta(hours=23, minutes=59))
    assert reminders(bot, APPROVER, OVERDUE_TEXT) == []
    tick(bot, clock, timedelta(minutes=1))
    for approver in (APPROVER, APPROVER2):
        assert len(reminders(bot, approver, OVERDUE_TEXT)) == 1
    assert reminders(bot, PROPOSER, OVERDUE_TEXT) == []
    assert [e["level"] for e in reminded_events(bot, "measure_overdue")] == [1, 2]

    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    for _ in range(5):
        tick(bot, clock, timedelta(days=1))
    assert len(reminders(bot, OFFICER2, OVERDUE_TEXT)) == 1
    assert len(reminders(bot, APPROVER, OVERDUE_TEXT)) == 1
    assert case_row(bot).state == "measure_done"


def test_a_measure_done_before_its_target_date_is_never_reported_overdue(
    bot: LocalBot, clock: FakeClock
) -> None:
    walk_to(bot, "measure_done")
    clock.now = OVERDUE_AT
    for _ in range(4):
        tick(bot, clock, timedelta(days=1))
    for user in (OFFICER, OFFICER2, APPROVER, APPROVER2):
        assert reminders(bot, user, OVERDUE_TEXT) == []
        assert reminders(bot, user, APPROVAL_TEXT) == []
    assert reminded_events(bot, "measure_overdue") == []
