"""Timer rows: start, cancel, claim what is due, advance after firing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage import leases
from storage.models import Timer

PENDING, DONE, CANCELLED = "pending", "done", "cancelled"


def start(
    session: Session,
    *,
    key: str,
    case_id: int,
    kind: str,
    policy: dict[str, Any],
    anchor_at: datetime,
    due_at: datetime,
    now: datetime,
) -> None:
    """Start a timer once: a retried request with the same key starts nothing new."""
    values = {
        "key": key,
        "case_id": case_id,
        "kind": kind,
        "policy": policy,
        "anchor_at": anchor_at,
        "level": 0,
        "repeat": 0,
        "due_at": due_at,
        "status": PENDING,
        "fired": 0,
        "created_at": now,
    }
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(Timer).values(**values).on_conflict_do_nothing(index_elements=["key"]))


def cancel(session: Session, case_id: int, kinds: Sequence[str]) -> None:
    """The wait these timers measured is over. A timer whose policy was spent (``done``) is
    cancelled too: it no longer counts as overdue anywhere (App Home)."""
    session.execute(
        update(Timer)
        .where(
            Timer.case_id == case_id,
            Timer.kind.in_(kinds),
            Timer.status.in_((PENDING, DONE)),
        )
        .values(status=CANCELLED, claimed_until=None)
    )


def resume(session: Session, key: str, *, anchor_at: datetime, due_at: datetime) -> None:
    """A timer stopped (cancelled, or its policy spent) counts again from ``anchor_at``, from
    its first level: what it waited for is owed again (a notice sent anew after it failed)."""
    session.execute(
        update(Timer)
        .where(Timer.key == key, Timer.status.in_((CANCELLED, DONE)))
        .values(
            status=PENDING,
            anchor_at=anchor_at,
            due_at=due_at,
            level=0,
            repeat=0,
            claimed_until=None,
        )
    )


def cancel_key(session: Session, key: str) -> None:
    session.execute(
        update(Timer)
        .where(Timer.key == key, Timer.status == PENDING)
        .values(status=CANCELLED, claimed_until=None)
    )


def claim_due(session: Session, *, now: datetime, lease: timedelta, limit: int) -> list[Timer]:
    return leases.claim_due(session, Timer, due=Timer.due_at, now=now, lease=lease, limit=limit)


def advance(
    session: Session,
    timer_id: int,
    *,
    level: int,
    repeat: int,
    due_at: datetime | None,
    fired_at: datetime,
    fired_before: int,
) -> bool:
    """Record a firing and set the next due time, or finish the timer when its policy is spent.

    Only while the timer is still pending with ``fired_before`` firings, i.e. as it was claimed:
    False when another replica fired it after this one's lease ran out (nothing is changed).
    """
    result = session.execute(
        update(Timer)
        .where(Timer.id == timer_id, Timer.status == PENDING, Timer.fired == fired_before)
        .values(
            level=level,
            repeat=repeat,
            due_at=due_at if due_at is not None else fired_at,
            status=PENDING if due_at is not None else DONE,
            fired=Timer.fired + 1,
            last_fired_at=fired_at,
            claimed_until=None,
        )
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def postpone(session: Session, timer_id: int, until: datetime) -> None:
    session.execute(
        update(Timer).where(Timer.id == timer_id).values(due_at=until, claimed_until=None)
    )


def finish(session: Session, timer_id: int, status: str) -> None:
    session.execute(
        update(Timer).where(Timer.id == timer_id).values(status=status, claimed_until=None)
    )


def pending_for(session: Session, case_id: int) -> Sequence[Timer]:
    return session.scalars(
        select(Timer)
        .where(Timer.case_id == case_id, Timer.status == PENDING)
        .order_by(Timer.due_at)
    ).all()


def next_escalation(session: Session, case_id: int) -> tuple[int, datetime] | None:
    """The level (1-based) and time of the case's next escalation, for the card and status."""
    timer = session.scalars(
        select(Timer)
        .where(Timer.case_id == case_id, Timer.status == PENDING, Timer.kind == "escalation")
        .order_by(Timer.due_at)
        .limit(1)
    ).first()
    return (timer.level + 1, timer.due_at) if timer else None
