"""The outbox table: enqueue with the change that caused a message, claim with a lease, record.

A claim is committed before anything is sent and never held across a Slack call: PostgreSQL
skips rows another replica has locked (``FOR UPDATE SKIP LOCKED``); SQLite drops that clause,
so the conditional UPDATE and its row count are what make the claim exclusive there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage import leases
from storage.models import OutboxMessage

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"


def enqueue(
    session: Session,
    *,
    dedupe_key: str,
    kind: str,
    target: str,
    now: datetime,
    case_id: int | None = None,
    in_thread: bool = False,
    payload: dict[str, Any] | None = None,
    not_before: datetime | None = None,
) -> None:
    """Add a message unless one with the same key exists (a retried request adds nothing)."""
    values = {
        "dedupe_key": dedupe_key,
        "kind": kind,
        "target": target,
        "case_id": case_id,
        "in_thread": in_thread,
        "payload": payload or {},
        "status": PENDING,
        "not_before": not_before or now,
        "attempts": 0,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(OutboxMessage).values(**values).on_conflict_do_nothing(index_elements=["dedupe_key"])
    )


def reset_pending(session: Session, dedupe_key: str, now: datetime) -> None:
    """Put a card update back in the queue (it renders the case as it is when sent)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key == dedupe_key)
        .values(status=PENDING, not_before=now, last_error=None)
    )


def claim_due(
    session: Session,
    *,
    now: datetime,
    lease: timedelta,
    limit: int = 50,
    case_id: int | None = None,
) -> list[OutboxMessage]:
    where = [OutboxMessage.case_id == case_id] if case_id is not None else []
    return leases.claim_due(
        session,
        OutboxMessage,
        due=OutboxMessage.not_before,
        now=now,
        lease=lease,
        limit=limit,
        where=where,
        on_claim={"claimed_at": now, "attempts": OutboxMessage.attempts + 1},
    )


def renew(session: Session, row: OutboxMessage, *, now: datetime, lease: timedelta) -> bool:
    """Extend this worker's claim on ``row`` just before it is sent; False when the row is no
    longer ours: our lease ran out and another worker claimed it (``attempts`` moved on), or it
    was settled meanwhile."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row.id,
            OutboxMessage.status == PENDING,
            OutboxMessage.attempts == row.attempts,
        )
        .values(claimed_until=now + lease)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_sent(
    session: Session, row_id: int, *, channel: str, ts: str | None, now: datetime
) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status=SENT, slack_channel=channel, slack_ts=ts, sent_at=now, claimed_until=None)
    )


WAITING_ON_ANOTHER = ("waiting_for_card", "waiting_for_step", "waiting_for_newer")


def wake_waiting(session: Session, sent: OutboxMessage, now: datetime) -> None:
    """What waited on ``sent`` is due now, not after its back-off: edits of the post it was
    (they waited for its ``ts``), older edits of the post it edited (they waited for it, and
    are now moot), and, for a case card, the case's messages that waited for the card."""
    waiting = or_(
        OutboxMessage.target == sent.dedupe_key,
        and_(OutboxMessage.target == sent.target, OutboxMessage.kind == sent.kind),
    )
    if sent.kind == "card_post" and sent.case_id is not None:
        waiting = or_(waiting, OutboxMessage.case_id == sent.case_id)
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == PENDING,
            OutboxMessage.claimed_until.is_(None),
            OutboxMessage.last_error.in_(
                ("waiting_for_card", "waiting_for_step", "waiting_for_newer")
            ),
            OutboxMessage.not_before > now,
            waiting,
        )
        .values(not_before=now)
    )


def mark_retry(session: Session, row_id: int, *, not_before: datetime, error: str) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(not_before=not_before, last_error=error[:255], claimed_until=None)
    )


def mark_skipped(session: Session, row_id: int, *, reason: str) -> None:
    """Not sent, on purpose: the case moved on before its turn came (e.g. acknowledged)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status=SKIPPED, last_error=reason[:255], claimed_until=None)
    )


def mark_failed(session: Session, row_id: int, *, error: str) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id)
        .values(status=FAILED, last_error=error[:255], claimed_until=None)
    )


def replace_payload(session: Session, row_id: int, payload: dict[str, Any]) -> None:
    """New content for a row nobody has claimed yet (the caller holds its lock)."""
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == row_id,
            OutboxMessage.status == PENDING,
            OutboxMessage.claimed_until.is_(None),
        )
        .values(payload=payload)
    )


def newer_edit(session: Session, row: OutboxMessage) -> str | None:
    """How the later rows that edit the same post (its target) stand: SENT if one was sent,
    else PENDING if one is still to go, else None (there is none, or every one failed)."""
    found = set(
        session.scalars(
            select(OutboxMessage.status)
            .where(
                OutboxMessage.kind == row.kind,
                OutboxMessage.target == row.target,
                OutboxMessage.id > row.id,
                OutboxMessage.status.in_((PENDING, SENT)),
            )
            .distinct()
        )
    )
    return SENT if SENT in found else PENDING if PENDING in found else None


def latest_edit(session: Session, target: str) -> OutboxMessage | None:
    """The newest edit queued for the post whose outbox key is ``target`` (None if never
    edited)."""
    return session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.target == target, OutboxMessage.dedupe_key != target)
        .where(OutboxMessage.status.in_((PENDING, SENT)))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).first()


def last_shown(session: Session, row: OutboxMessage) -> dict[str, Any] | None:
    """What the post ``row`` edits shows now: the payload of the last edit of it that was sent,
    else of the post itself (None while neither was sent)."""
    edited = session.scalar(
        select(OutboxMessage.payload)
        .where(
            OutboxMessage.kind == row.kind,
            OutboxMessage.target == row.target,
            OutboxMessage.id < row.id,
            OutboxMessage.status == SENT,
        )
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if edited is not None:
        return dict(edited)
    posted = by_key(session, row.target)
    return dict(posted.payload) if posted is not None and posted.status == SENT else None


def by_key(session: Session, dedupe_key: str) -> OutboxMessage | None:
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
    ).one_or_none()


def for_case(session: Session, case_id: int) -> Sequence[OutboxMessage]:
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)
    ).all()


def due_by(session: Session, moment: datetime) -> int:
    """How many messages are waiting to go out by ``moment`` (in flight ones included)."""
    count = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.not_before <= moment)
    )
    return int(count or 0)


def depth(session: Session) -> int:
    count = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == PENDING)
    )
    return int(count or 0)


def requeue(session: Session, dedupe_key: str, *, now: datetime, target: str) -> None:
    """Send a failed message again (after a person fixed the cause)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key == dedupe_key)
        .values(status=PENDING, not_before=now, target=target, last_error=None, claimed_until=None)
    )


def requeue_failed(session: Session, dedupe_key: str, *, now: datetime) -> None:
    """Send a message again only if it failed (an e-mail the relay accepted is not sent twice
    when a person retries the notice for another address)."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key == dedupe_key, OutboxMessage.status == FAILED)
        .values(status=PENDING, not_before=now, last_error=None, claimed_until=None)
    )
