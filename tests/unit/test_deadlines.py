"""Art. 73's reporting deadlines: each category's due date, the instant a report becomes late in
the organisation's timezone, an awareness date corrected later, and the reminders before and the
escalation after the deadline (the default ``art73_report`` timer), driven by a FakeClock.

The sample workspace's Art. 73 reminders are shortened for the demo, so the timer tests use the
sample workspace without that override: the defaults remind the owner and the approvers 5 days
and 1 day before the deadline and escalate (admins too) when it passes, daily, at most 5 times
more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import yaml

from bot.cases.state import CaseDetails
from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.duties.deadlines import ARTICLE, DAYS, Incident, due_date, due_moment, is_serious
from bot.ops.workspace import DEFAULT_TIMERS, Workspace, parse_workspace, sample_path
from tests.scenarios import (
    ADMIN,
    APPROVER,
    APPROVER2,
    OFFICER,
    OFFICER2,
    SERIOUS_ASSESSMENT,
    assessed,
    case_events,
    case_row,
    duties_panel,
    record_duty,
    settle,
    thread_replies,
    wait_for,
)

AWARE = date(2026, 11, 29)  # SERIOUS_ASSESSMENT's awareness date


# --- pure: dates in, dates out ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "days", "article", "due"),
    [
        ("a_death", 10, "73(4)", date(2026, 12, 9)),
        ("a_health", 15, "73(2)", date(2026, 12, 14)),
        ("b", 2, "73(3)", date(2026, 12, 1)),
        ("c", 15, "73(2)", date(2026, 12, 14)),
        ("c_widespread", 2, "73(3)", date(2026, 12, 1)),
        ("d", 15, "73(2)", date(2026, 12, 14)),
    ],
)
def test_each_category_of_serious_incident_has_its_deadline(
    category: str, days: int, article: str, due: date
) -> None:
    assert is_serious(category)
    assert DAYS[Incident(category)] == days
    assert ARTICLE[Incident(category)] == article
    assert due_date(category, AWARE) == due


def test_every_category_is_covered_and_none_is_not_serious() -> None:
    serious = {i for i in Incident if i is not Incident.NONE}
    assert set(DAYS) == serious == set(ARTICLE)
    assert not is_serious("none")


def test_a_report_is_late_once_the_last_day_has_ended_where_the_organisation_works() -> None:
    # Winter: Amsterdam is UTC+1, so the 14th ends at 23:00 UTC.
    moment = due_moment("a_health", AWARE, "Europe/Amsterdam")
    assert moment.astimezone(UTC) == datetime(2026, 12, 14, 23, 0, tzinfo=UTC)
    assert moment - timedelta(microseconds=1) < moment  # the whole 14th is still on time
    # Summer: UTC+2.
    summer = due_moment("b", date(2026, 7, 1), "Europe/Amsterdam")
    assert summer.astimezone(UTC) == datetime(2026, 7, 3, 22, 0, tzinfo=UTC)
    # Across the end of summer time the last day still ends at local midnight.
    autumn = due_moment("a_health", date(2026, 10, 20), "Europe/Amsterdam")
    assert autumn.astimezone(UTC) == datetime(2026, 11, 4, 23, 0, tzinfo=UTC)
    # Another organisation, another midnight.
    assert due_moment("a_health", AWARE, "America/New_York").astimezone(UTC) == datetime(
        2026, 12, 15, 5, 0, tzinfo=UTC
    )


def _details(**details: Any) -> CaseDetails:
    assessment = {
        "nature": "Accuracy below the declared level",
        "causal_link": "A data drift",
        "risk": "yes",
        "serious_incident": "a_death",
        "aware_on": "2026-11-29",
        "by": "U0OFFICER1",
        "at": "2026-11-30T09:00:00+00:00",
    }
    return CaseDetails.model_validate(
        {"assessment": {**assessment, **details.pop("assessment", {})}, **details}
    )


def test_an_awareness_date_corrected_later_moves_the_deadline() -> None:
    first = _details().art73()
    assert first is not None
    assert (first.aware_on, first.due, first.days, first.article) == (
        AWARE,
        date(2026, 12, 9),
        10,
        "73(4)",
    )
    earlier = _details(aware_on="2026-11-20").art73()
    assert earlier is not None and earlier.due == date(2026, 11, 30)
    later = _details(aware_on="2026-12-01").art73()
    assert later is not None and later.due == date(2026, 12, 11)


def test_no_deadline_without_a_serious_incident() -> None:
    assert _details(assessment={"serious_incident": "none"}).art73() is None
    assert CaseDetails().art73() is None


# --- the timers: a whole bot, a fake clock, one sweep at a time --------------------------------


def default_timers_workspace() -> Workspace:
    """The sample workspace with the default Art. 73 timer (its own override removed)."""
    data = yaml.safe_load(sample_path().read_text(encoding="utf-8"))
    data["escalation"].pop("timers", None)
    return parse_workspace(yaml.safe_dump(data, sort_keys=False), "default-art73-timer.yml")


@pytest.fixture
def default_bot(sqlite_url: str, clock: FakeClock) -> Iterator[LocalBot]:
    with LocalBot(default_timers_workspace(), database_url=sqlite_url, clock=clock) as local:
        yield local


DUE = datetime(2026, 12, 14, 23, 0, tzinfo=UTC)  # the end of 2026-12-14 in Amsterdam


def art73_dms(bot: LocalBot, user: str) -> list[str]:
    """The Art. 73 reminders (⏰) and escalations (🚨) in the bot's DM with ``user``."""
    return [
        m.text
        for m in bot.standin.messages(user)
        if m.text.startswith(("⏰", "🚨")) and "Art. 73" in m.text
    ]


def reminded(bot: LocalBot) -> list[dict[str, Any]]:
    return [
        {**e.payload["data"], "at": e.payload["at"]}
        for e in case_events(bot)
        if e.kind == "reminded" and e.payload["data"]["timer"] == "art73_report"
    ]


def deadline_lines(bot: LocalBot) -> list[str]:
    return [m.text for m in thread_replies(bot) if "*Art. 73 deadline*" in m.text]


def tick_to(bot: LocalBot, clock: FakeClock, moment: datetime) -> None:
    clock.now = moment
    bot.sweep()
    settle(bot)


def test_the_default_timer_reminds_5_and_1_days_before_then_escalates_a_bounded_number_of_times(
    default_bot: LocalBot, clock: FakeClock
) -> None:
    bot = default_bot
    assert [level.offset for level in DEFAULT_TIMERS["art73_report"].levels] == [
        timedelta(days=-5),
        timedelta(days=-1),
        timedelta(0),
    ]
    assessed(bot, SERIOUS_ASSESSMENT)  # OFFICER owns it
    owner_and_approvers = (OFFICER, APPROVER, APPROVER2)

    # Nothing before 5 days ahead of the deadline.
    tick_to(bot, clock, DUE - timedelta(days=5, seconds=1))
    assert all(art73_dms(bot, u) == [] for u in owner_and_approvers)
    assert reminded(bot) == []

    # 5 days before: the owner and the approvers, by DM and in the thread.
    tick_to(bot, clock, DUE - timedelta(days=5))
    for user in owner_and_approvers:
        [dm] = art73_dms(bot, user)
        assert dm.startswith("⏰") and "NC-1" in dm and "due by" in dm, dm
    assert art73_dms(bot, OFFICER2) == [] and art73_dms(bot, ADMIN) == []
    [line] = deadline_lines(bot)
    assert f"<@{OFFICER}>" in line and f"<@{APPROVER}>" in line
    [event] = reminded(bot)
    assert event["level"] == 1 and sorted(event["users"]) == sorted(owner_and_approvers)

    # A second sweep at the same moment sends nothing again.
    tick_to(bot, clock, DUE - timedelta(days=5))
    assert len(art73_dms(bot, OFFICER)) == 1

    # 1 day before: once more.
    tick_to(bot, clock, DUE - timedelta(days=1, seconds=1))
    assert len(art73_dms(bot, OFFICER)) == 1
    tick_to(bot, clock, DUE - timedelta(days=1))
    assert len(art73_dms(bot, OFFICER)) == 2
    assert [e["level"] for e in reminded(bot)] == [1, 2]

    # The deadline passes: the escalation goes to the admins as well, and says it is late.
    tick_to(bot, clock, DUE)
    late = art73_dms(bot, OFFICER)[-1]
    assert late.startswith("🚨") and "has passed" in late, late
    assert [m[:1] for m in art73_dms(bot, ADMIN)] == ["🚨"]

    # It repeats daily, but not forever: 5 repeats, then silence.
    for day in range(1, 12):
        tick_to(bot, clock, DUE + timedelta(days=day))
    assert len(art73_dms(bot, ADMIN)) == 6
    assert len(art73_dms(bot, OFFICER)) == 2 + 6
    assert [(e["level"], e["repeat"]) for e in reminded(bot)] == [
        (1, 0),
        (2, 0),
        *((3, r) for r in range(6)),
    ]


def test_recording_the_initial_report_stops_the_reminders(
    default_bot: LocalBot, clock: FakeClock
) -> None:
    bot = default_bot
    assessed(bot, SERIOUS_ASSESSMENT)
    tick_to(bot, clock, DUE - timedelta(days=5))
    assert len(art73_dms(bot, OFFICER)) == 1
    record_duty(bot, "initial_report")
    for day in range(-1, 8):
        tick_to(bot, clock, DUE + timedelta(days=day))
    assert len(art73_dms(bot, OFFICER)) == 1
    assert len(reminded(bot)) == 1


def test_an_awareness_date_corrected_in_the_thread_moves_the_deadline_and_its_reminders(
    default_bot: LocalBot, clock: FakeClock
) -> None:
    bot = default_bot
    assessed(bot, SERIOUS_ASSESSMENT)
    assert "2026-12-14" in duties_panel(bot).text + str(duties_panel(bot).blocks)

    # Three days later the officer learns the provider knew on the 25th: due on the 10th.
    clock.advance(timedelta(days=3))
    before = len(bot.standin.calls("views.open"))
    response = bot.driver.click(
        "C0TRIAGE01", duties_panel(bot).ts, "duty_correct_awareness", user=OFFICER
    )
    assert response.status == 200, response.body
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="the awareness modal")
    view = bot.driver.last_view(OFFICER)
    response = bot.driver.submit(
        view["id"],
        user=OFFICER,
        values={
            "aware_on": "2026-11-25",
            "reason": "The deployer's first e-mail came on the 25th.",
        },
    )
    assert (response.status, response.body) == (200, b"")
    wait_for(lambda: case_row(bot).details.aware_on == date(2026, 11, 25), what="the correction")
    settle(bot)

    panel = str(duties_panel(bot).blocks)
    assert "*2026-12-10*" in panel and "2026-12-14" not in panel
    card = bot.standin.message("C0TRIAGE01", case_row(bot).card_ts)
    assert "Art. 73 report due: 2026-12-10" in str(card.blocks)
    [event] = [e for e in case_events(bot) if e.kind == "awareness_corrected"]
    assert event.actor_id == OFFICER
    assert event.payload["data"] == {
        "from": "2026-11-29",
        "to": "2026-11-25",
        "deadline_from": "2026-12-14",
        "deadline_to": "2026-12-10",
        "reason": "The deployer's first e-mail came on the 25th.",
    }

    new_due = datetime(2026, 12, 10, 23, 0, tzinfo=UTC)
    tick_to(bot, clock, new_due - timedelta(days=5, seconds=1))
    assert art73_dms(bot, OFFICER) == []
    tick_to(bot, clock, new_due - timedelta(days=5))
    assert len(art73_dms(bot, OFFICER)) == 1
    tick_to(bot, clock, new_due)
    assert art73_dms(bot, OFFICER)[-1].startswith("🚨")
    # The old schedule is gone: its moments bring nothing of their own.
    tick_to(bot, clock, DUE - timedelta(days=5))
    tick_to(bot, clock, DUE - timedelta(days=1))
    levels = [(e["level"], e["repeat"]) for e in reminded(bot)]
    assert levels[:3] == [(1, 0), (2, 0), (3, 0)]
    assert all(level == 3 for level, _ in levels[3:])  # only the daily escalation repeats
