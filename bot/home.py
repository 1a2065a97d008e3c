"""The App Home service: gather what a person should see, publish it, keep it current.

The lists follow the visibility rule of ``list`` and ``status``: members of the roles see every
case, anyone else only their own reports. Everything is read in one snapshot with a handful of
queries (open cases, the viewer's reports, fired timers, unsettled notices), whatever the number
of cases. Publishing happens after the request was acknowledged, and refreshes after a case
changes run on a small pool of their own, coalesced per user, so the outbox never waits on
``views.publish``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import actors, duties
from bot.cases import OPEN_STATES
from bot.clock import Clock
from bot.timers import WAITING_STATE
from bot.views.home import PAGE, Entry, HomeData, Label, Section, home_view
from bot.workflow import Action, CaseState
from bot.workspace import Workspace
from storage import notices as notice_rows
from storage.db import Database
from storage.models import Case, CaseEvent, Partner, PartnerNotice, Timer

log = logging.getLogger("ncbot.home")

STATE_ORDER = {state.value: i for i, state in enumerate(CaseState)}
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
UNSETTLED = (notice_rows.QUEUED, notice_rows.SENT, notice_rows.FAILED)
APPROVAL_EVENTS = (Action.PROPOSE_MEASURE.value, Action.APPROVE.value, Action.REJECT.value)


class Home:
    def __init__(self, db: Database, client: WebClient, workspace: Workspace, clock: Clock) -> None:
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self._pages: dict[str, dict[str, int]] = {}  # per user, what they expanded last
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="home")

    # --- reading ---

    def data(self, user_id: str, pages: Mapping[str, int] | None = None) -> HomeData:
        pages = pages or {}
        member = self.workspace.is_member(user_id)
        now = self.clock()
        with self.db.read() as session:
            reports = _page(pages, "reports", _reports(session, user_id, _size(pages, "reports")))
            if not member:
                return HomeData(user_id, False, now, [reports])
            open_cases = _open_cases(session)
            sections = [
                *(
                    [_section(pages, "approval", self._awaiting(open_cases, user_id))]
                    if user_id in self.workspace.roles.approvers
                    else []
                ),
                _section(pages, "owned", _owned(open_cases, user_id)),
                reports,
                _open_section(pages, open_cases),
                _section(pages, "overdue", _overdue(session, open_cases, now)),
                _section(pages, "notices", _notices(session)),
            ]
        return HomeData(user_id, True, now, sections)

    def view(self, user_id: str, pages: Mapping[str, int] | None = None) -> dict[str, object]:
        pages = dict(pages or {})
        return home_view(self.data(user_id, pages), pages, self.workspace.language)

    def _awaiting(self, cases: Sequence[Case], user_id: str) -> list[Entry]:
        """Proposed measures this approver may decide on (four eyes: not their own)."""
        return [
            Entry(c)
            for c in cases
            if c.state == CaseState.MEASURE_PROPOSED
            and (c.details.get("measure") or {}).get("proposer") != user_id
        ]

    # --- publishing ---

    def publish(self, user_id: str, pages: Mapping[str, int] | None = None) -> None:
        """Render and publish now (call after the request was acknowledged)."""
        if pages is None:
            pages = self._pages.get(user_id, {})
        self._pages[user_id] = dict(pages)
        view = self.view(user_id, pages)
        self.client.views_publish(user_id=user_id, view=view)

    def refresh_case(self, case_id: int) -> None:
        """A case was posted or changed: refresh the Home of everyone involved, in the
        background; a failure is logged, never raised into the caller (the outbox)."""
        try:
            users = self.involved(case_id)
        except Exception:
            log.warning("could not tell whose App Home to refresh", extra={"case_id": case_id})
            return
        for user_id in users:
            self.refresh_user(user_id)

    def refresh_user(self, user_id: str) -> None:
        with self._lock:
            if user_id in self._pending:
                return  # a refresh is queued and will read the newest state anyway
            self._pending.add(user_id)
        self._pool.submit(self._refresh, user_id)

    def _refresh(self, user_id: str) -> None:
        with self._lock:
            self._pending.discard(user_id)
        try:
            self.publish(user_id)
        except Exception as exc:
            log.warning("App Home refresh failed", extra={"user": user_id, "error": str(exc)})

    def involved(self, case_id: int) -> list[str]:
        """Reporter, owner, measure owner, and the approvers while the measure awaits them
        (or was just decided, so that it leaves their list)."""
        with self.db.read() as session:
            case = session.get(Case, case_id)
            if case is None:
                return []
            measure = case.details.get("measure") or {}
            users = [case.reporter_id, case.owner_id, measure.get("owner")]
            if case.state == CaseState.MEASURE_PROPOSED or _last_decision(session, case_id) in (
                APPROVAL_EVENTS
            ):
                users += list(self.workspace.roles.approvers)
        return list(dict.fromkeys(u for u in users if u and not actors.is_system(u)))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# --- queries and shaping (one snapshot; pure functions of the rows) ---


def _size(pages: Mapping[str, int], key: str) -> int:
    return pages.get(key, PAGE)


def _section(pages: Mapping[str, int], key: str, entries: Sequence[Entry]) -> Section:
    return Section(key, list(entries[: _size(pages, key)]), len(entries))


def _page(pages: Mapping[str, int], key: str, found: tuple[list[Entry], int]) -> Section:
    entries, total = found
    return Section(key, entries[: _size(pages, key)], total)


def _reports(session: Session, user_id: str, size: int) -> tuple[list[Entry], int]:
    total = session.scalar(select(func.count()).where(Case.reporter_id == user_id)) or 0
    cases = session.scalars(
        select(Case).where(Case.reporter_id == user_id).order_by(Case.number.desc()).limit(size)
    ).all()
    return [Entry(c) for c in cases], int(total)


def _open_cases(session: Session) -> list[Case]:
    cases = session.scalars(select(Case).where(Case.state.in_(OPEN_STATES))).all()
    return sorted(
        cases,
        key=lambda c: (
            STATE_ORDER.get(c.state, 99),
            SEVERITY_ORDER.get(c.severity, 9),
            -c.number,
        ),
    )


def _owned(cases: Iterable[Case], user_id: str) -> list[Entry]:
    entries = []
    for case in cases:
        measure_owner = (case.details.get("measure") or {}).get("owner") == user_id
        if case.owner_id == user_id:
            entries.append(Entry(case))
        elif measure_owner:
            entries.append(Entry(case, ("home.measure_owner", {})))
    return entries


def _open_section(pages: Mapping[str, int], cases: Sequence[Case]) -> Section:
    by_state: dict[str, dict[str, int]] = {}
    for case in cases:  # already in state, then severity order
        severities = by_state.setdefault(case.state, {})
        severities[case.severity] = severities.get(case.severity, 0) + 1
    size = _size(pages, "open")
    return Section("open", [Entry(c) for c in cases[:size]], len(cases), by_state)


def _overdue(session: Session, cases: Sequence[Case], now: datetime) -> list[Entry]:
    """Escalations and reminders that have fired while the case still waits, and every Art. 73
    report not yet made (late ones first)."""
    by_id = {c.id: c for c in cases}
    timers = session.scalars(
        select(Timer).where(
            Timer.kind.in_(tuple(WAITING_STATE)),
            Timer.fired > 0,
            Timer.status != "cancelled",
        )
    ).all()
    dated: list[tuple[tuple[int, str], Entry]] = []
    seen: set[tuple[int, str]] = set()
    for timer in sorted(timers, key=lambda t: t.anchor_at):
        case = by_id.get(timer.case_id)
        if case is None or case.state != WAITING_STATE[timer.kind] or (case.id, timer.kind) in seen:
            continue
        seen.add((case.id, timer.kind))
        note = (
            "home.overdue.timer",
            {
                "what": Label(f"home.timer.{timer.kind}"),
                "when": timer.anchor_at,
                "fired": timer.fired,
            },
        )
        dated.append(((1, timer.anchor_at.isoformat()), Entry(case, note)))
    today = now.date()
    for case in cases:
        deadline = duties.art73(case) if case.details.get("assessment") else None
        if deadline is None or duties.INITIAL_REPORT in (case.details.get("duties") or {}):
            continue
        late = deadline.due < today
        key = "home.overdue.deadline_late" if late else "home.overdue.deadline"
        entry = Entry(case, (key, {"due": deadline.due.isoformat()}))
        dated.append(((0 if late else 2, deadline.due.isoformat()), entry))
    return [entry for _, entry in sorted(dated, key=lambda pair: pair[0])]


def _notices(session: Session) -> list[Entry]:
    rows = session.execute(
        select(PartnerNotice, Case, Partner.name)
        .join(Case, Case.id == PartnerNotice.case_id)
        .outerjoin(Partner, Partner.id == PartnerNotice.partner_id)
        .where(PartnerNotice.status.in_(UNSETTLED))
        .order_by(PartnerNotice.sent_at, PartnerNotice.created_at)
    ).all()
    return [
        Entry(
            case,
            (
                "home.notice",
                {
                    "partner": name or notice.partner_id,
                    "role": Label(f"role.{notice.role}"),
                    "status": Label(f"notice.status.{notice.status}"),
                    "when": notice.sent_at or notice.created_at,
                },
            ),
        )
        for notice, case, name in rows
    ]


def _last_decision(session: Session, case_id: int) -> str | None:
    decisions = tuple(a.value for a in Action)
    return session.scalar(
        select(CaseEvent.kind)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind.in_(decisions))
        .order_by(CaseEvent.seq.desc())
        .limit(1)
    )
