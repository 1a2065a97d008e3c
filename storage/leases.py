"""Claiming due rows with a short lease: the one mechanism behind the outbox and the timers.

The claim is its own committed transaction and is never held across a Slack call. PostgreSQL
skips rows another replica has locked (``FOR UPDATE SKIP LOCKED``); SQLite drops that clause,
so the conditional UPDATE's row count is what makes a claim exclusive there. A lease that
expires (its process died) makes the row claimable again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

Row = TypeVar("Row")


def claim_due(
    session: Session,
    model: type[Row],
    *,
    due: InstrumentedAttribute[datetime],
    now: datetime,
    lease: timedelta,
    limit: int,
    where: Sequence[ColumnElement[bool]] = (),
    on_claim: dict[str, Any] | None = None,
) -> list[Row]:
    entity: Any = model
    free = or_(entity.claimed_until.is_(None), entity.claimed_until < now)
    conditions = [entity.status == "pending", due <= now, free, *where]
    candidates = session.scalars(
        select(entity.id)
        .where(*conditions)
        .order_by(due, entity.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return []
    # One statement claims them all; the repeated conditions keep it exclusive where SKIP LOCKED
    # is not available (SQLite), and RETURNING says which rows this claim actually won.
    claimed = session.scalars(
        update(entity)
        .where(entity.id.in_(candidates), *conditions)
        .values(claimed_until=now + lease, **(on_claim or {}))
        .returning(entity.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return []
    rows: list[Row] = list(
        session.scalars(select(entity).where(entity.id.in_(claimed)).order_by(due, entity.id))
    )
    return rows
