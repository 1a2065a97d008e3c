"""The escalation policy as arithmetic: given a clock, which level is due when.

Nothing waits here: every moment is a datetime the test chooses. The last test runs the real
bot in-process on a FakeClock to show that the policy in force at report time stays with the case.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.devkit.standin import SlackStandIn
from bot.ops.workspace import DEFAULT_TIMERS, Policy, Workspace, sample_path
from bot.timers.policy import FrozenPolicy, Position, first, following, freeze, parse_days, thaw
from tests.scenarios import ADMIN, OFFICER, OFFICER2, case_row, report, settle, wait_for

AMS = ZoneInfo("Europe/Amsterdam")
OFFICE_HOURS = {"days": "mon-fri", "from": "08:00", "to": "18:00"}


def policy(*levels: dict[str, Any], quiet_hours: dict[str, str] | None = None) -> Policy:
    data: dict[str, Any] = {"levels": list(levels)}
    if quiet_hours:
        data["quiet_hours"] = quiet_hours
    return Policy.model_validate(data)


def frozen(p: Policy, *, critical: bool = False, tz: str = "Europe/Amsterdam") -> FrozenPolicy:
    return thaw(freeze(p, timezone=tz, critical=critical))


def schedule(
    p: FrozenPolicy, anchor: datetime, *, fired_at: list[datetime] | None = None, limit: int = 50
) -> list[tuple[Position, datetime]]:
    """Every firing the policy asks for, each fired at its due time (or at ``fired_at[i]``)."""
    out: list[tuple[Position, datetime]] = []
    step = first(p, anchor)
    while step is not None and len(out) < limit:
        out.append(step)
        position, due = step
        actual = fired_at[len(out) - 1] if fired_at and len(out) <= len(fired_at) else due
        step = following(p, position, anchor, actual)
    return out


THREE_LEVELS = policy(
    {"after": "30m", "notify": ["triage"]},
    {"after": "2h", "notify": ["C0MANAGERS"]},
    {"after": "4h", "notify": ["S0APPROVRS"], "repeat": {"every": "1h", "max": 3}},
)
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # a Monday, 10:00 in Amsterdam


# --- levels and repeats ---


def test_levels_fire_in_order_each_at_the_report_time_plus_its_after() -> None:
    plan = schedule(frozen(THREE_LEVELS), MONDAY_9)
    levels = [(pos.level, due - MONDAY_9) for pos, due in plan if pos.repeat == 0]
    assert levels == [(0, timedelta(minutes=30)), (1, timedelta(hours=2)), (2, timedelta(hours=4))]


def test_the_last_level_repeats_every_interval_up_to_its_maximum_then_stops() -> None:
    plan = schedule(frozen(THREE_LEVELS), MONDAY_9)
    repeats = [(pos.level, pos.repeat, due - MONDAY_9) for pos, due in plan if pos.level == 2]
    assert repeats == [
        (2, 0, timedelta(hours=4)),
        (2, 1, timedelta(hours=5)),
        (2, 2, timedelta(hours=6)),
        (2, 3, timedelta(hours=7)),
    ]
    assert len(plan) == 6  # bounded: three levels and three repeats, then nothing
    last_position, last_due = plan[-1]
    assert following(frozen(THREE_LEVELS), last_position, MONDAY_9, last_due) is None


def test_a_level_without_repeat_fires_once() -> None:
    p = frozen(policy({"after": "10m", "notify": ["triage"]}))
    assert schedule(p, MONDAY_9) == [(Position(0), MONDAY_9 + timedelta(minutes=10))]


def test_the_workspace_refuses_an_unbounded_or_misplaced_repeat() -> None:
    with pytest.raises(ValueError):
        policy({"after": "1h", "notify": ["triage"], "repeat": {"every": "1h", "max": 1000}})
    with pytest.raises(ValueError, match="only the last level may repeat"):
        policy(
            {"after": "1h", "notify": ["triage"], "repeat": {"every": "1h"}},
            {"after": "2h", "notify": ["admins"]},
        )
    with pytest.raises(ValueError, match="strictly increasing"):
        policy({"after": "2h", "notify": ["triage"]}, {"after": "1h", "notify": ["admins"]})
    # A repeat with no max given is still bounded.
    p = frozen(policy({"after": "1h", "notify": ["triage"], "repeat": {"every": "1h"}}))
    assert 1 < len(schedule(p, MONDAY_9, limit=1000)) <= 101


def test_the_frozen_policy_survives_a_json_round_trip() -> None:
    import json

    data = freeze(THREE_LEVELS, timezone="Europe/Amsterdam", critical=False)
    assert thaw(json.loads(json.dumps(data))) == thaw(data)


def test_a_stored_timer_carries_the_workspace_files_own_levels() -> None:
    """One level type: what a timer thaws is the level as the workspace file gave it, whether
    it counted ``after`` the anchor or ``before`` it (the Art. 73 reminders), repeats included."""
    for p in (THREE_LEVELS, DEFAULT_TIMERS["art73_report"]):
        assert frozen(p, critical=True).levels == tuple(p.levels)


# --- quiet hours (office-hours window, Europe/Amsterdam) ---

OFFICE_POLICY = policy(
    {"after": "1h", "notify": ["triage"]},
    {"after": "3h", "notify": ["C0MANAGERS"], "repeat": {"every": "2h", "max": 2}},
    quiet_hours=OFFICE_HOURS,
)
FRIDAY_17_30 = datetime(2026, 12, 4, 17, 30, tzinfo=AMS)  # Friday, half an hour before closing
MONDAY_8 = datetime(2026, 12, 7, 8, 0, tzinfo=AMS)


def test_days_parse_as_ranges_lists_and_wrapping_ranges() -> None:
    assert parse_days("mon-fri") == frozenset({0, 1, 2, 3, 4})
    assert parse_days("sat,sun") == frozenset({5, 6})
    assert parse_days("mon-wed, fri") == frozenset({0, 1, 2, 4})
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})


def test_a_level_inside_office_hours_is_not_moved() -> None:
    p = frozen(OFFICE_POLICY)
    wednesday_10 = datetime(2026, 12, 2, 10, 0, tzinfo=AMS)
    assert first(p, wednesday_10) == (Position(0), wednesday_10 + timedelta(hours=1))


def test_a_level_falling_on_friday_evening_waits_until_monday_8_local_and_is_not_skipped() -> None:
    p = frozen(OFFICE_POLICY)
    plan = schedule(p, FRIDAY_17_30)
    # Level 1 falls at 18:30 on Friday (closed): Monday 08:00. Level 2 falls at 20:30: the same
    # opening, still after level 1. Its repeats count from Monday.
    assert [(pos.level, pos.repeat) for pos, _ in plan] == [(0, 0), (1, 0), (1, 1), (1, 2)]
    assert [due.astimezone(AMS) for _, due in plan] == [
        MONDAY_8,
        MONDAY_8,
        MONDAY_8 + timedelta(hours=2),
        MONDAY_8 + timedelta(hours=4),
    ]
    assert all(p.window is not None and p.window.contains(due) for _, due in plan)


def test_a_repeat_that_falls_after_closing_waits_for_the_next_morning() -> None:
    p = frozen(OFFICE_POLICY)
    thursday_13 = datetime(2026, 12, 3, 13, 0, tzinfo=AMS)
    plan = schedule(p, thursday_13)
    assert [due.astimezone(AMS) for _, due in plan] == [
        datetime(2026, 12, 3, 14, 0, tzinfo=AMS),
        datetime(2026, 12, 3, 16, 0, tzinfo=AMS),
        datetime(2026, 12, 4, 8, 0, tzinfo=AMS),  # 18:00 is closing time: Friday morning
        datetime(2026, 12, 4, 10, 0, tzinfo=AMS),
    ]


def test_the_window_follows_the_local_clock_across_the_change_to_summer_time() -> None:
    p = frozen(OFFICE_POLICY)
    # Saturday 27 March 2027; clocks go forward on Sunday 28 March in Amsterdam.
    saturday = datetime(2027, 3, 27, 11, 0, tzinfo=UTC)
    _, due = first(p, saturday) or (None, None)
    assert due is not None and due.astimezone(AMS) == datetime(2027, 3, 29, 8, 0, tzinfo=AMS)
    assert due.utcoffset() == timedelta(0) and due.hour == 6  # 08:00 CEST is 06:00 UTC


def test_critical_never_waits_for_office_hours() -> None:
    p = frozen(OFFICE_POLICY, critical=True)
    assert p.window is None
    plan = schedule(p, FRIDAY_17_30)
    assert [due - FRIDAY_17_30 for _, due in plan] == [
        timedelta(hours=1),
        timedelta(hours=3),
        timedelta(hours=5),
        timedelta(hours=7),
    ]


# --- downtime: each overdue level once, in order; no burst of repeats ---


def test_after_downtime_each_overdue_level_fires_once_in_order_and_repeats_do_not_burst() -> None:
    p = frozen(THREE_LEVELS)
    back = MONDAY_9 + timedelta(hours=12)  # the bot was down from before level 1 until now
    fired: list[tuple[Position, datetime]] = []
    step = first(p, MONDAY_9)
    # A sweep fires whatever is due at ``back``, taking the next step each time, until the next
    # step lies in the future.
    while step is not None and step[1] <= back:
        fired.append(step)
        step = following(p, step[0], MONDAY_9, back)
    assert [pos for pos, _ in fired] == [Position(0), Position(1), Position(2)]
    assert step is not None
    assert step == (Position(2, 1), back + timedelta(hours=1))  # the first repeat, an hour on


def test_after_downtime_past_the_whole_policy_the_remaining_repeats_are_spaced_from_now() -> None:
    p = frozen(THREE_LEVELS)
    back = MONDAY_9 + timedelta(days=3)
    times = [back, back, back, back + timedelta(hours=1), back + timedelta(hours=2)]
    plan = schedule(p, MONDAY_9, fired_at=times)
    assert [pos for pos, _ in plan] == [
        Position(0),
        Position(1),
        Position(2),
        Position(2, 1),
        Position(2, 2),
        Position(2, 3),
    ]
    assert [due for _, due in plan][3:] == [
        back + timedelta(hours=1),
        back + timedelta(hours=2),
        back + timedelta(hours=3),
    ]


# --- the policy is frozen onto the case when it is reported ---


def _workspace(policies: dict[str, Any]) -> Workspace:
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    data["escalation"]["policies"] = policies
    return Workspace.model_validate(data)


OLD = {"default": [{"after": "30m", "notify": [OFFICER]}, {"after": "2h", "notify": [OFFICER2]}]}
NEW = {"default": [{"after": "10m", "notify": [ADMIN]}]}


def _dm_refs(standin: SlackStandIn, user: str) -> list[str]:
    return [
        ref
        for m in standin.messages(user)
        for ref in ("NC-1", "NC-2")
        if m.text.startswith("⏰") and f"|{ref}>" in m.text
    ]


def test_a_running_case_keeps_the_policy_it_was_reported_under(tmp_path: Path) -> None:
    clock = FakeClock()
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with SlackStandIn() as standin:
        with LocalBot(_workspace(OLD), database_url=url, clock=clock, standin=standin) as bot:
            report(bot)
            wait_for(lambda: case_row(bot, 1).details.permalink, what="NC-1's card")
            settle(bot)
        # The workspace file changes and the bot restarts on the same database.
        with LocalBot(_workspace(NEW), database_url=url, clock=clock, standin=standin) as bot:
            report(bot)
            wait_for(lambda: case_row(bot, 2).details.permalink, what="NC-2's card")
            settle(bot)
            clock.advance(timedelta(minutes=10))
            bot.sweep()
            assert _dm_refs(standin, ADMIN) == ["NC-2"]  # the new policy for the new case
            assert _dm_refs(standin, OFFICER) == []
            clock.advance(timedelta(minutes=20))
            bot.sweep()
            assert _dm_refs(standin, OFFICER) == ["NC-1"]  # the old policy for the old case
            clock.advance(timedelta(hours=2))
            bot.sweep()
            assert _dm_refs(standin, OFFICER2) == ["NC-1"]
            assert _dm_refs(standin, ADMIN) == ["NC-2"]
            assert _dm_refs(standin, OFFICER) == ["NC-1"]
