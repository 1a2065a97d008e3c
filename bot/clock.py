"""Time comes from a clock the app factory hands out, so tests can move it without sleeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def today_in(timezone: str, now: datetime) -> date:
    """The date it is at ``now`` where the organisation works (the workspace's ``timezone``).

    Every "today" a person sees or is held to goes through here: the dates a modal offers, the
    refusal of a date to come or gone, whether an Art. 73 report is late. UTC's date is a
    different day for an hour or more each night in most of Europe.
    """
    return now.astimezone(ZoneInfo(timezone)).date()


class FakeClock:
    """A clock for tests and the demo: starts at a fixed instant and moves only when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta
