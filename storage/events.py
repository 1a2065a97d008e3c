"""Reading the audit trail (appending is ``bot.audit``'s job, under the case lock)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import CaseEvent


def events_of(session: Session, case_id: int) -> Sequence[CaseEvent]:
    return session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq, CaseEvent.id)
    ).all()
