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

from bot.audit import replay
from bot.audit.chain import GENESIS, ChainRow, Verification, canonical_json, link_hash, verify
from storage import cases as case_rows
from storage import notices as notice_rows
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
    count the case row keeps; then replay them and compare what they make with the case row,
    its measures and its partner notices."""
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
    replayed = [
        replay.Event(
            seq=event.seq,
            kind=event.kind,
            actor=event.actor_id,
            data=_data(event.payload),
        )
        for event in events
    ]
    found = replay.replay(replayed, _row_facts(session, case)) or _measure_columns(case)
    if found is not None:
        return Verification(False, result.checked, found.seq, found.problem, found.detail)
    return result


def _data(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    data = payload.get("data")
    return data if isinstance(data, Mapping) else {}


def _row_facts(session: Session, case: Case) -> replay.RowFacts:
    details = case.details
    return replay.RowFacts(
        state=case.state,
        version=case.version,
        owner=case.owner_id,
        reporter=case.reporter_id,
        system_id=case.system_id,
        title=case.title,
        description=case.description,
        severity=case.severity,
        risk=case.risk,
        measures=tuple(
            replay.MeasureFacts(
                measure=m.measure.value,
                owner=m.owner,
                proposer=m.proposer,
                status=m.status.value,
                approvals=tuple(a.by for a in m.approvals),
                done_by=m.done.by if m.done else None,
            )
            for m in (row.measure for row in case.measures)
        ),
        duties={name: record.by for name, record in details.duties.items()},
        aware_on=details.aware_on.isoformat() if details.aware_on else None,
        notices=tuple(
            replay.NoticeFacts(
                id=n.id,
                partner=n.partner_id,
                measure_version=n.measure_version,
                status=n.status,
                staff_clicks=len(n.staff_clicks or []),
            )
            for n in notice_rows.of_case(session, case.id)
        ),
    )


def _measure_columns(case: Case) -> replay.Finding | None:
    """App Home reads a measure's status, owner and proposer from columns copied out of it."""
    for row in case.measures:
        m = row.measure
        if (row.status, row.owner_id, row.proposer_id) != (m.status.value, m.owner, m.proposer):
            detail = f"measure {row.position}'s status, owner or proposer column differs from it"
            return replay.Finding(None, "row_differs", detail)
    return None


def missing_numbers(session: Session) -> tuple[list[int], list[int]]:
    """NC numbers are gapless (a rolled-back report gives its number back), so a number the
    counter gave out without a case means a case was deleted whole, row and events; a case
    above the counter means the counter was set back. Returns (missing, beyond the counter)."""
    issued = case_rows.numbers_issued(session)
    present = case_rows.numbers(session)
    have = set(present)
    missing = [n for n in range(1, issued + 1) if n not in have]
    return missing, [n for n in present if n > issued]
