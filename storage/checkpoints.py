"""Audit checkpoint rows, and what a checkpoint reads: every case's chain head."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import AuditCheckpoint, Case, CaseEvent

COUNTER = "audit_checkpoint"  # gapless checkpoint numbers, on the counters table


def newest(session: Session) -> AuditCheckpoint | None:
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    ).one_or_none()


def all_checkpoints(session: Session) -> Sequence[AuditCheckpoint]:
    return session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()


def after(session: Session, seq: int) -> Sequence[AuditCheckpoint]:
    return session.scalars(
        select(AuditCheckpoint).where(AuditCheckpoint.seq > seq).order_by(AuditCheckpoint.seq)
    ).all()


def heads(session: Session) -> dict[str, list[object]]:
    """``{"NC-n": [event count, head hash]}`` for every case."""
    rows = session.execute(select(Case.number, Case.event_count, Case.head_hash)).all()
    return {f"NC-{number}": [count, head] for number, count, head in rows}


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(CaseEvent.id))) or 0)


def closed_since(session: Session, event_id: int, kinds: Sequence[str]) -> bool:
    """Was a case closed (an event of ``kinds``) after the event ``event_id``?"""
    found = session.scalar(
        select(CaseEvent.id).where(CaseEvent.id > event_id, CaseEvent.kind.in_(kinds)).limit(1)
    )
    return found is not None


def event_hash(session: Session, number: int, seq: int) -> str | None:
    return session.scalar(
        select(CaseEvent.hash)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(Case.number == number, CaseEvent.seq == seq)
    )
