"""Partner notice rows: one per partner per approved measure."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import PartnerNotice

QUEUED, SENT, ACKNOWLEDGED, FAILED, WAIVED = "queued", "sent", "acknowledged", "failed", "waived"
SETTLED = (ACKNOWLEDGED, WAIVED)


def by_id(session: Session, notice_id: int, *, lock: bool = False) -> PartnerNotice | None:
    query = select(PartnerNotice).where(PartnerNotice.id == notice_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def of_case(
    session: Session, case_id: int, measure_version: int | None = None
) -> Sequence[PartnerNotice]:
    query = select(PartnerNotice).where(PartnerNotice.case_id == case_id)
    if measure_version is not None:
        query = query.where(PartnerNotice.measure_version == measure_version)
    return session.scalars(query.order_by(PartnerNotice.id)).all()


def unsettled(session: Session, case_id: int) -> Sequence[PartnerNotice]:
    """Notices of the case that are neither acknowledged nor waived (they block Close)."""
    return session.scalars(
        select(PartnerNotice)
        .where(PartnerNotice.case_id == case_id, PartnerNotice.status.not_in(SETTLED))
        .order_by(PartnerNotice.id)
    ).all()
