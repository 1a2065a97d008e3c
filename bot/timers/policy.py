"""Escalation and reminder arithmetic: pure, and given the time rather than reading a clock.

A policy is an ordered list of levels, each due ``after`` a timer's anchor (the report for an
unacknowledged case, the proposal for a waiting approval, the target date for an overdue
measure). The last level may repeat ``every`` interval up to ``max`` times, so a forgotten case
cannot page forever. A policy may have an office-hours window (``quiet_hours`` in the workspace
file: days and from–to in the workspace timezone): a level due outside it waits for the next
window, never skipped; critical cases never wait.

The policy is frozen into JSON when a timer starts, so editing the workspace file later does not
reshuffle running escalations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.ops.workspace import Level, Policy, QuietHours, Repeat

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    """When notifications may go out: these weekdays, from ``start`` to ``end`` local time."""

    days: frozenset[int]
    start: time
    end: time
    zone: ZoneInfo

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself when inside the window, else the next time the window opens."""
        if self.contains(moment):
            return moment
        local = moment.astimezone(self.zone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            opening = datetime.combine(day, self.start, tzinfo=self.zone)
            if day.weekday() in self.days and opening > local:
                return opening.astimezone(moment.tzinfo)
        raise ValueError("quiet-hours window has no opening")  # unreachable with ≥1 day


@dataclass(frozen=True)
class FrozenPolicy:
    levels: tuple[Level, ...]
    window: Window | None = None


@dataclass(frozen=True)
class Position:
    """Where a timer stands: the level to fire next and, on the last level, which repeat."""

    level: int
    repeat: int = 0


def parse_days(text: str) -> frozenset[int]:
    """``mon-fri``, ``sat,sun``, ``mon-wed,fri`` → weekday numbers (Monday is 0)."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        start, end = DAYS.index(first[:3]), DAYS.index((last or first)[:3])
        span = range(start, end + 1) if start <= end else [*range(start, 7), *range(0, end + 1)]
        days.update(span)
    return frozenset(days)


def freeze(policy: Policy, *, timezone: str, critical: bool) -> dict[str, Any]:
    """The JSON stored with a timer; critical cases drop the window (they never wait)."""
    quiet: QuietHours | None = None if critical else policy.quiet_hours
    return {
        "timezone": timezone,
        "window": None
        if quiet is None
        else {"days": quiet.days, "from": quiet.start, "to": quiet.end},
        "levels": [
            {
                "after": int(level.offset.total_seconds()),  # negative: before the anchor
                "notify": list(level.notify),
                "repeat_every": int(level.repeat.every.total_seconds()) if level.repeat else None,
                "repeat_max": level.repeat.max if level.repeat else 0,
            }
            for level in policy.levels
        ],
    }


def thaw(data: dict[str, Any]) -> FrozenPolicy:
    window = None
    if data.get("window"):
        spec = data["window"]
        window = Window(
            days=parse_days(spec["days"]),
            start=time.fromisoformat(spec["from"]),
            end=time.fromisoformat(spec["to"]),
            zone=ZoneInfo(data.get("timezone") or "UTC"),
        )
    return FrozenPolicy(tuple(_thaw_level(level) for level in data["levels"]), window)


def _thaw_level(stored: dict[str, Any]) -> Level:
    """The workspace file's level again, from ``freeze``'s form: a negative ``after`` was a
    ``before``. The stored form stays as it is, for the timers already in the database."""
    offset = timedelta(seconds=stored["after"])
    every = stored.get("repeat_every")
    return Level(
        after=max(offset, timedelta(0)),
        before=-offset if offset < timedelta(0) else None,
        notify=list(stored["notify"]),
        repeat=Repeat(every=timedelta(seconds=every), max=stored["repeat_max"]) if every else None,
    )


def first(policy: FrozenPolicy, anchor: datetime) -> tuple[Position, datetime] | None:
    if not policy.levels:
        return None
    return Position(0), _in_window(policy, anchor + policy.levels[0].offset)


def following(
    policy: FrozenPolicy, fired: Position, anchor: datetime, fired_at: datetime
) -> tuple[Position, datetime] | None:
    """What comes after ``fired`` went out at ``fired_at``, or None when the policy is spent.

    Levels keep their schedule from the anchor, so after downtime each overdue level fires once,
    in order. Repeats count from the actual firing, so a long outage does not release a burst.
    """
    nxt = fired.level + 1
    if nxt < len(policy.levels):
        return Position(nxt), _in_window(policy, anchor + policy.levels[nxt].offset)
    repeat = policy.levels[-1].repeat
    if repeat is None or fired.repeat >= repeat.max:
        return None
    return Position(fired.level, fired.repeat + 1), _in_window(policy, fired_at + repeat.every)


def total_firings(policy: FrozenPolicy) -> int:
    """How often a timer with this policy can fire at most: each level once, plus the repeats
    of the last ("reminder 3 of 8")."""
    if not policy.levels:
        return 0
    repeat = policy.levels[-1].repeat
    return len(policy.levels) + (repeat.max if repeat else 0)


def level_of(policy: FrozenPolicy, position: Position) -> Level:
    return policy.levels[position.level]


def _in_window(policy: FrozenPolicy, due: datetime) -> datetime:
    return policy.window.next_opening(due) if policy.window else due
