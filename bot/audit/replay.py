"""Replaying a case's audit events gives what its row must say; where the row says otherwise, the
row was changed without an event (``UPDATE cases SET state = 'closed'``).

The hash chain proves the events were not edited; this proves the row follows from them. Every
kind of event the bot records is named here, with what it changes (most change nothing in the
row); a kind not named is itself a finding, so a kind added without its replay fails
``tests/unit/test_audit_kinds.py``. Events are hashed and never migrated: each kind is read in
every shape it was ever recorded in (the oldest kept in ``tests/storage/fixtures``).

Pure: the caller reads the rows (``bot.audit.trail``) and hands plain values in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bot.cases.state import DUTY_ORDER
from bot.cases.workflow import Action

REPORTED = "reported"
STEP_KINDS = frozenset(action.value for action in Action)
DUTY_KINDS = frozenset(f"duty_{duty}" for duty in DUTY_ORDER)
NOTICE_KINDS = frozenset(
    {
        "notices_queued",
        "notice_acknowledged",
        "notice_waived",
        "notice_failed",
        "notice_retry",
        "notice_click_by_staff",
        "notice_click_other_workspace",
        "notice_receipt_by_link",
        "notice_receipt_recorded",
    }
)
# Recorded for the trail; they change nothing a case row or a notice row keeps (a
# ``message_sent`` of a partner notice does, below).
NOTHING_IN_THE_ROW = frozenset(
    {
        "message_sent",
        "escalated",
        "reminded",
        "alert_fired",
        "alert_repeated",
        "alert_resolved",
        "alert_suppressed",
    }
)
AWARENESS_CORRECTED = "awareness_corrected"
# Changes that do not start a case over (``bot.cases.changes``).
SEVERITY_CHANGED = "severity_changed"
OWNER_REASSIGNED = "owner_reassigned"
TARGET_DATE_CHANGED = "target_date_changed"  # the row keeps no fact replay compares
MEASURE_AMENDED = "measure_amended"
MEASURE_ADDED = "measure_added"
CHANGE_KINDS = frozenset(
    {SEVERITY_CHANGED, OWNER_REASSIGNED, TARGET_DATE_CHANGED, MEASURE_AMENDED, MEASURE_ADDED}
)
KNOWN_KINDS = frozenset(
    {
        REPORTED,
        AWARENESS_CORRECTED,
        *STEP_KINDS,
        *DUTY_KINDS,
        *NOTICE_KINDS,
        *NOTHING_IN_THE_ROW,
        *CHANGE_KINDS,
    }
)
PARTNER_NOTICE_KIND = "partner_notice"  # the outbox kind whose delivery makes a notice "sent"
EMAIL_NOTICE_KIND = "email_notice"  # so does the first e-mail of a notice the relay accepted
QUEUED, SENT, ACKNOWLEDGED, FAILED, WAIVED = "queued", "sent", "acknowledged", "failed", "waived"


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    actor: str | None
    data: Mapping[str, Any]


@dataclass(frozen=True)
class MeasureFacts:
    """What the events say about a measure; compared with the row's typed measure."""

    measure: str
    owner: str
    proposer: str
    status: str = "current"
    approvals: tuple[str, ...] = ()
    done_by: str | None = None


@dataclass(frozen=True)
class NoticeFacts:
    """A partner notice as stored: ``key`` is (partner, measure version), what its events name."""

    id: int
    partner: str
    measure_version: int
    status: str
    staff_clicks: int


@dataclass(frozen=True)
class RowFacts:
    """What the case row (and its measures and notices) says now."""

    state: str
    version: int
    owner: str | None
    reporter: str
    system_id: str
    title: str
    description: str
    severity: str
    risk: str
    measures: tuple[MeasureFacts, ...]
    duties: Mapping[str, str]  # duty → who recorded it
    aware_on: str | None
    notices: tuple[NoticeFacts, ...]


@dataclass(frozen=True)
class Finding:
    seq: int | None  # the event at fault, or None when the row alone is
    problem: Literal["no_report", "unknown_kind", "out_of_step", "row_differs"]
    detail: str


@dataclass
class _Notice:
    key: tuple[str, int]
    channel: str | None  # None: not known from the events (retried), any channel will do
    status: str
    staff_clicks: int = 0
    since: int = 0  # the event that last set its status


@dataclass
class _Replay:
    row: RowFacts
    state: str = ""
    version: int = 0
    owner: str | None = None
    risk: str = ""
    severity: str = ""
    reported: Mapping[str, Any] = field(default_factory=dict)
    reporter: str | None = None
    measures: list[MeasureFacts] = field(default_factory=list)
    duties: dict[str, str] = field(default_factory=dict)
    aware_on: str | None = None
    notices: dict[tuple[str, int], _Notice] = field(default_factory=dict)
    since: dict[str, int] = field(default_factory=dict)  # field → event that last set it


def replay(events: Sequence[Event], row: RowFacts) -> Finding | None:
    """The first finding, or None when the row is exactly what its events make of it."""
    if not events or events[0].kind != REPORTED:
        first = events[0].kind if events else "nothing"
        return Finding(1, "no_report", f"the trail starts with {first}, not with the report")
    by_id = {notice.id: notice for notice in row.notices}
    state = _Replay(row)
    for event in events:
        if event.kind not in KNOWN_KINDS:
            return Finding(event.seq, "unknown_kind", f"no replay knows the kind {event.kind!r}")
        if event.seq > 1 and event.kind == REPORTED:
            return Finding(event.seq, "out_of_step", "a second report in one trail")
        found = _apply(state, event, by_id)
        if found is not None:
            return found
    return _compare(state, row, by_id)


def _apply(s: _Replay, event: Event, by_id: Mapping[int, NoticeFacts]) -> Finding | None:
    kind, data, seq = event.kind, event.data, event.seq
    if kind == REPORTED:
        s.state, s.version, s.reporter, s.reported = "reported", 1, event.actor, data
        s.risk, s.severity = str(data.get("risk")), str(data.get("severity"))
        s.since.update(state=seq, version=seq, risk=seq, severity=seq)
    elif kind in STEP_KINDS:
        if data.get("from") != s.state:
            detail = f"{kind} from {data.get('from')!r}, but the events before left {s.state!r}"
            return Finding(seq, "out_of_step", detail)
        s.state, s.version = str(data.get("to")), int(data.get("version", s.version + 1))
        s.since.update(state=seq, version=seq)
        return _step(s, event)
    elif kind in DUTY_KINDS:
        s.duties[kind.removeprefix("duty_")] = event.actor or ""
        s.since["duties"] = seq
    elif kind in CHANGE_KINDS:
        return _change(s, event)
    elif kind == AWARENESS_CORRECTED:
        s.aware_on = str(data.get("to"))
        s.since["aware_on"] = seq
    elif kind == "notices_queued":
        for partner in data.get("partners") or []:
            key = (str(partner.get("id")), s.version)
            channel = partner.get("channel")
            reachable = channel or partner.get("emails")
            if not channel and reachable:
                channel = ""  # e-mail only: no Slack post of another partner is this one's
            s.notices[key] = _Notice(key, channel, QUEUED if reachable else FAILED, since=seq)
    elif kind == "message_sent" and data.get("kind") == PARTNER_NOTICE_KIND:
        _delivered(s, str(data.get("channel")), seq)
    elif kind == "message_sent" and data.get("kind") == EMAIL_NOTICE_KIND:
        _emailed(s, data.get("notice"), by_id, seq)
    elif kind in NOTICE_KINDS:
        return _notice_event(s, event, by_id)
    return None


def _step(s: _Replay, event: Event) -> Finding | None:
    kind, data, actor = event.kind, event.data, event.actor or ""
    if kind == Action.ACKNOWLEDGE:
        s.owner = actor
        s.since["owner"] = event.seq
    elif kind == Action.CONFIRM:
        s.risk = str(data.get("risk"))
        s.since["risk"] = event.seq
    elif kind == Action.PROPOSE_MEASURE:
        proposed = MeasureFacts(str(data.get("measure")), str(data.get("owner")), actor)
        s.measures.append(proposed)
    elif kind in (Action.APPROVE, Action.REJECT, Action.MARK_DONE, Action.REOPEN):
        current = [i for i, m in enumerate(s.measures) if m.status == "current"]
        if not current:
            if kind == Action.REOPEN:
                return None
            return Finding(event.seq, "out_of_step", f"{kind} without a measure in force")
        if kind == Action.REOPEN:  # every measure in force is set aside
            for j in current:
                s.measures[j] = _with(s.measures[j], status="superseded")
            s.since["measures"] = event.seq
            return None
        i = current[-1]
        if kind == Action.MARK_DONE:  # the oldest approved measure not yet carried out
            i = next(
                (j for j in current if s.measures[j].approvals and not s.measures[j].done_by), i
            )
        m = s.measures[i]
        if kind == Action.APPROVE:
            m = _with(m, approvals=(*m.approvals, actor))
        elif kind == Action.REJECT:
            m = _with(m, status="rejected")
        else:
            m = _with(m, done_by=actor)
        s.measures[i] = m
    s.since["measures"] = event.seq
    return None


def _change(s: _Replay, event: Event) -> Finding | None:
    """A change: severity and owners as they are now; an amended measure back to approval
    (its approvals no longer count), an added one proposed after the others."""
    kind, data, seq = event.kind, event.data, event.seq
    if kind in (MEASURE_AMENDED, MEASURE_ADDED):
        if data.get("from_state") != s.state:
            detail = (
                f"{kind} from {data.get('from_state')!r}, but the events before left {s.state!r}"
            )
            return Finding(seq, "out_of_step", detail)
        s.state, s.version = str(data.get("to_state")), int(data.get("version", s.version + 1))
        s.since.update(state=seq, version=seq, measures=seq)
    elif kind in (TARGET_DATE_CHANGED, OWNER_REASSIGNED) and "version" in data:
        # a change of the measure awaiting approval: asked anew, under a new version
        s.version = int(data["version"])
        s.since["version"] = seq
    if kind == SEVERITY_CHANGED:
        s.severity = str(data.get("to"))
        s.since["severity"] = seq
    elif kind == OWNER_REASSIGNED and data.get("whose") == "case":
        s.owner = str(data.get("to"))
        s.since["owner"] = seq
    elif kind == MEASURE_ADDED:
        s.measures.append(
            MeasureFacts(str(data.get("measure")), str(data.get("owner")), event.actor or "")
        )
    elif kind in (OWNER_REASSIGNED, MEASURE_AMENDED):
        i = int(data.get("position") or 0) - 1
        if not 0 <= i < len(s.measures):
            detail = f"{kind} of measure {data.get('position')}, which no event proposed"
            return Finding(seq, "out_of_step", detail)
        changes: dict[str, Any] = {
            "owner": str(data.get("to" if kind == OWNER_REASSIGNED else "owner"))
        }
        if kind == MEASURE_AMENDED:
            changes["approvals"] = ()
        s.measures[i] = _with(s.measures[i], **changes)
        s.since["measures"] = seq
    return None


def _with(m: MeasureFacts, **changes: Any) -> MeasureFacts:
    return replace(m, **changes)


def _delivered(s: _Replay, channel: str, seq: int) -> None:
    """A partner notice reached its channel: the queued notice there is now sent. Where two
    queued notices share a channel the event does not say which; the one the row says was
    sent is taken, so only a status no delivery explains is a finding."""
    waiting = [n for n in s.notices.values() if n.status == QUEUED and n.channel in (channel, None)]
    if not waiting:
        return
    stored = {(n.partner, n.measure_version): n.status for n in s.row.notices}
    chosen = next((n for n in waiting if stored.get(n.key) != QUEUED), waiting[0])
    chosen.status, chosen.since = SENT, seq


def _emailed(s: _Replay, notice_id: object, by_id: Mapping[int, NoticeFacts], seq: int) -> None:
    """An e-mail of a notice was accepted by the relay: the notice, if still queued, is sent
    (the event names the notice, so no guessing by channel)."""
    stored = by_id.get(notice_id) if isinstance(notice_id, int) else None
    notice = s.notices.get((stored.partner, stored.measure_version)) if stored else None
    if notice is not None and notice.status == QUEUED:
        notice.status, notice.since = SENT, seq


def _notice_event(s: _Replay, event: Event, by_id: Mapping[int, NoticeFacts]) -> Finding | None:
    notice_id = event.data.get("notice")
    stored = by_id.get(notice_id) if isinstance(notice_id, int) else None
    if stored is None:
        return Finding(event.seq, "row_differs", f"notice {notice_id} of {event.kind} is gone")
    notice = s.notices.get((stored.partner, stored.measure_version))
    if notice is None:
        detail = f"notice {notice_id} ({stored.partner}) was never queued by an event"
        return Finding(event.seq, "row_differs", detail)
    status = {
        "notice_acknowledged": ACKNOWLEDGED,
        "notice_receipt_by_link": ACKNOWLEDGED,
        "notice_receipt_recorded": ACKNOWLEDGED,
        "notice_waived": WAIVED,
        "notice_failed": FAILED,
        "notice_retry": QUEUED,
    }.get(event.kind)
    if status is None:  # a click that did not count: kept on the notice, status unchanged
        notice.staff_clicks += 1
        return None
    if event.kind == "notice_retry":
        notice.channel = None  # sent again to the partner's channel now, which the event omits
    notice.status, notice.since = status, event.seq
    return None


def _compare(s: _Replay, row: RowFacts, by_id: Mapping[int, NoticeFacts]) -> Finding | None:
    reported = s.reported
    expected: list[tuple[str, object, object]] = [
        ("state", s.state, row.state),
        ("version", s.version, row.version),
        ("owner", s.owner, row.owner),
        ("risk", s.risk, row.risk),
        ("reporter", s.reporter, row.reporter),
        ("system", reported.get("system_id"), row.system_id),
        ("title", reported.get("title"), row.title),
        ("description", reported.get("description"), row.description),
        ("severity", s.severity, row.severity),
        ("measures", tuple(s.measures), row.measures),
        ("duties", dict(s.duties), dict(row.duties)),
        ("aware_on", s.aware_on, row.aware_on),
    ]
    for name, theirs, ours in expected:
        if theirs != ours:
            detail = f"the case row's {name} is {_show(ours)}, its events say {_show(theirs)}"
            return Finding(s.since.get(name), "row_differs", detail)
    stored = {(n.partner, n.measure_version): n for n in row.notices}
    for key, notice in s.notices.items():
        found = stored.get(key)
        name = f"the notice to {key[0]} (v{key[1]})"
        if found is None:
            return Finding(notice.since, "row_differs", f"{name} is gone")
        if found.status != notice.status:
            detail = f"{name} is {found.status!r}, its events say {notice.status!r}"
            return Finding(notice.since, "row_differs", detail)
        if found.staff_clicks != notice.staff_clicks:
            detail = (
                f"{name} keeps {found.staff_clicks} clicks that did not count, "
                f"its events say {notice.staff_clicks}"
            )
            return Finding(notice.since, "row_differs", detail)
    for key in stored.keys() - s.notices.keys():
        detail = f"a notice to {key[0]} (v{key[1]}) that no event queued"
        return Finding(None, "row_differs", detail)
    return None


def _show(value: object) -> str:
    if isinstance(value, tuple) and value and isinstance(value[0], MeasureFacts):
        return "[" + "; ".join(_measure(m) for m in value) + "]"
    return repr(value)


def _measure(m: MeasureFacts) -> str:
    approvals = ",".join(m.approvals) or "none"
    done = m.done_by or "no"
    return f"{m.measure} {m.status}, owner {m.owner}, approvals {approvals}, done {done}"
