"""Append events to a case's audit trail, chained by hash, under the case's lock.

The caller holds the case row locked in its transaction (``storage.cases.by_id(lock=True)`` on
PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers), so ``seq`` and the head hash cannot
race. The case keeps the head hash and the count, so a removed tail shows on verification.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.audit.chain import GENESIS, ChainRow, Verification, canonical_json, link_hash, verify
from storage.events import events_of
from storage.models import Case, CaseEvent


def record(
    session: Session,
    case: Case,
    kind: str,
    *,
    actor: str | None,
    at: datetime,
    data: Mapping[str, Any] | None = None,
) -> CaseEvent:
    seq = case.event_count + 1
    payload: dict[str, Any] = {
        "case": case.ref,
        "seq": seq,
        "kind": kind,
        "actor": actor,
        "at": at,
        "data": dict(data or {}),
    }
    prev_hash = case.head_hash or GENESIS
    digest = link_hash(prev_hash, payload)
    event = CaseEvent(
        case_id=case.id,
        seq=seq,
        kind=kind,
        actor_id=actor,
        at=at,
        payload=json.loads(canonical_json(payload)),
        prev_hash=prev_hash,
        hash=digest,
    )
    session.add(event)
    case.event_count = seq
    case.head_hash = digest
    return event


def verify_case(session: Session, case: Case) -> Verification:
    """Check the case's stored events against their hashes, links, sequence, and the head and
    count the case row keeps."""
    events = events_of(session, case.id)
    rows = [
        ChainRow(seq=event.seq, payload=event.payload, prev_hash=event.prev_hash, hash=event.hash)
        for event in events
    ]
    result = verify(rows, case.head_hash, case.event_count)
    if not result.ok:
        return result
    # The kind, actor and time columns are what ``status`` and exports read; they are copies of
    # the hashed payload, so a copy that no longer matches is tampering too.
    for event in events:
        hashed = event.payload
        at = canonical_json({"at": event.at})
        if (
            event.kind != hashed.get("kind")
            or event.actor_id != hashed.get("actor")
            or at != canonical_json({"at": hashed.get("at")})
            or event.seq != hashed.get("seq")
        ):
            detail = f"the kind, actor or time column of event {event.seq} differs from its hash"
            return Verification(False, result.checked, event.seq, "changed", detail)
    return result
