"""Alert groups: one row per AI system and monitoring alert group, and the case it opened.

Kept apart from the case row on purpose: a case is what people decide on; this table is what
monitoring keeps telling us about it (how often it fired, when, whether it resolved), so a storm
of webhooks updates one row instead of making new cases.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.models import Base

FIRING, RESOLVED = "firing", "resolved"


class AlertGroup(Base):
    """An alert group (Alertmanager's ``groupKey``, or a generic ``dedupe_key``) of one system.

    ``case_id`` is the case the group's current episode opened; ``episode`` counts the cases it
    opened over time (a group that resolved after its case was closed opens a new one).
    """

    __tablename__ = "alert_groups"
    __table_args__ = (
        UniqueConstraint("system_id", "key_hash", name="uq_alert_groups_system_id_key_hash"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    system_id: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(64))
    group_key: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    episode: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=FIRING)
    fires: Mapped[int] = mapped_column(Integer, default=0)
    fingerprints: Mapped[list[Any]] = mapped_column(default=list)
    first_seen: Mapped[datetime]  # of the current episode (case)
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    updates: Mapped[int] = mapped_column(Integer, default=0)
    line_due_at: Mapped[datetime | None]  # when the newest update of the thread's line is due


def key_hash(group_key: str) -> str:
    """Alertmanager's group keys are label sets of any length: index their digest."""
    return hashlib.sha256(group_key.encode()).hexdigest()


def locked_group(
    session: Session, *, system_id: str, group_key: str, source: str, now: datetime
) -> tuple[AlertGroup, bool]:
    """The group's row, created if new, locked for the rest of the transaction; and whether it
    was just created.

    Two deliveries of one group at once (a retry racing the original) queue here: PostgreSQL
    makes the second insert wait on the unique index, then both lock the same row; SQLite's
    BEGIN IMMEDIATE already serialises them.
    """
    digest = key_hash(group_key)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = session.execute(
        insert(AlertGroup)
        .values(
            system_id=system_id,
            key_hash=digest,
            group_key=group_key,
            source=source,
            episode=0,
            status=FIRING,
            fires=0,
            fingerprints=[],
            first_seen=now,
            last_seen=now,
            updates=0,
        )
        .on_conflict_do_nothing(index_elements=["system_id", "key_hash"])
    )
    row = session.scalars(
        select(AlertGroup)
        .where(AlertGroup.system_id == system_id, AlertGroup.key_hash == digest)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return row, bool(created.rowcount == 1)  # type: ignore[attr-defined]


def of_case(session: Session, case_id: int) -> AlertGroup | None:
    return session.scalars(
        select(AlertGroup).where(AlertGroup.case_id == case_id).order_by(AlertGroup.id)
    ).first()


def all_groups(session: Session) -> Sequence[AlertGroup]:
    return session.scalars(select(AlertGroup).order_by(AlertGroup.id)).all()
