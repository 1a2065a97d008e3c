"""The App Home service: gather what a person should see, publish it, keep it current.

The lists follow the visibility rule of ``list`` and ``status``: members of the roles see every
case, anyone else only their own reports. Everything is read in one snapshot with a handful of
queries (open cases, the viewer's reports, fired timers, unsettled notices), whatever the number
of cases. Publishing happens after the request was acknowledged, and refreshes after a case
changes run on a small pool of their own, coalesced and debounced per user (``refresher.py``),
so the outbox never waits on ``views.publish``; a refresh that would show exactly what the
person already sees is not sent at all, nor one to a person who has not opened their Home in
the last 12 hours (``LIVE``): opening it publishes it fresh.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, text
from sqlalchemy.orm import Session

from bot.cases import actors
from bot.cases.service import OPEN_STATES
from bot.cases.state import MeasureStatus, list_order, state_range
from bot.cases.workflow import Action, CaseState
from bot.clock import Clock, today_in
from bot.home.refresher import Refresher
from bot.home.views import PAGE, Entry, HomeData, Label, Section, home_view
from bot.ops.people import People
from bot.ops.workspace import Workspace
from bot.timers.engine import WAITING_STATE
from storage import home as home_rows
from storage.db import Database
from storage.models import (
    FIRED_AND_RUNNING,
    Case,
    CaseEvent,
    MeasureRow,
    Partner,
    PartnerNotice,
    Timer,
)
from storage.models import (
    UNSETTLED as UNSETTLED_NOTICE,
)

log = logging.getLogger("ncbot.home")

OPEN_CASE_STATES = tuple(CaseState(state) for state in OPEN_STATES)
TIMELESS = datetime(2000, 1, 1, tzinfo=UTC)
APPROVAL_EVENTS = (Action.PROPOSE_MEASURE.value, Action.APPROVE.value, Action.REJECT.value)
# How long after opening their Home a person's Home follows the cases it lists. Slack does not
# say when the tab is left; opening it again (``app_home_opened``) publishes it fresh anyway.
LIVE = timedelta(hours=12)


class Home:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        workspace: Workspace,
        clock: Clock,
        people: People | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self.people = people or People(workspace, None)
        self._pages: dict[str, dict[str, int]] = {}  # per user, what they expanded last
        self._shown: dict[str, str] = {}  # per user, a digest of the view last published
        self._lock = threading.Lock()
        self._refresher = Refresher(self._refresh)

    # --- reading ---

    def data(
        self, user_id: str, pages: Mapping[str, int] | None = None, team_id: str | None = None
    ) -> HomeData:
        """``team_id``: the workspace the request came from; a user of another one sees what
        anyone outside the roles sees (``People.reader``)."""
        pages = pages or {}
        member = self.people.reads_all(user_id, team_id)
        now = self.clock()
        today = today_in(self.workspace.timezone, now)  # a report due before this day is late
        with self.db.read() as session:
            # an outsider sees the reports made from their own organisation; ours see theirs
            # whichever of our workspaces or our organisation Slack named
            home = team_id if self.people.is_external(team_id) else None
            mine = _reports(session, user_id, home, _size(pages, "reports"))
            reports = _page(pages, "reports", mine)
            if not member:
                return HomeData(user_id, False, now, [reports])
            approver = user_id in self.workspace.roles.approvers
            awaiting = _awaiting(session, user_id, _size(pages, "approval")) if approver else None
            sections = [
                *([_page(pages, "approval", awaiting)] if awaiting is not None else []),
                _page(pages, "owned", _owned(session, user_id, _size(pages, "owned"))),
                reports,
                _open_section(session, _size(pages, "open")),
                _page(pages, "overdue", _overdue(session, today, _size(pages, "overdue"))),
                _page(pages, "notices", _notices(session, _size(pages, "notices"))),
            ]
        return HomeData(user_id, True, now, sections)

    def view(
        self, user_id: str, pages: Mapping[str, int] | None = None, team_id: str | None = None
    ) -> dict[str, object]:
        pages = dict(pages or {})
        return home_view(self.data(user_id, pages, team_id), pages, self.workspace.language)

    # --- publishing ---

    def publish(
        self, user_id: str, pages: Mapping[str, int] | None = None, team_id: str | None = None
    ) -> None:
        """Render and publish now (call after the request was acknowledged): the person opened
        the tab or asked for more, so it is published even if nothing changed. ``team_id``: the
        workspace the request came from (reads follow the rule of decisions)."""
        with self.db.transaction() as session:
            home_rows.opened(session, user_id, self.clock())
        self._publish(user_id, pages, always=True, team_id=team_id)

    def _publish(
        self,
        user_id: str,
        pages: Mapping[str, int] | None,
        *,
        always: bool,
        team_id: str | None = None,
    ) -> None:
        if pages is None:
            pages = self._pages.get(user_id, {})
        self._pages[user_id] = dict(pages)
        data = self.data(user_id, pages, team_id)
        view = home_view(data, pages, self.workspace.language)
        # What the Home shows, without its "as of" moment (which changes every second).
        timeless = home_view(replace(data, as_of=TIMELESS), pages, self.workspace.language)
        digest = hashlib.sha256(json.dumps(timeless, sort_keys=True).encode()).hexdigest()
        with self._lock:
            if not always and self._shown.get(user_id) == digest:
                return  # the Home shows this already: a publish would cost a call for nothing
        self.client.views_publish(user_id=user_id, view=view)
        with self._lock:
            self._shown[user_id] = digest

    def refresh_case(self, case_id: int) -> None:
        """A case was posted or changed: refresh, in the background, the Home of everyone it
        is listed for — those involved, and the members of the roles, who see every open case
        — among those who opened their Home in the last 12 hours (``LIVE``); a failure is
        logged, never raised into the caller (the outbox)."""
        try:
            users = self.involved(case_id)
            roles = self.workspace.roles
            users += [u for u in (*roles.triage, *roles.approvers, *roles.admins) if u not in users]
            with self.db.read() as session:
                live = home_rows.opened_since(session, users, self.clock() - LIVE)
        except Exception:
            log.warning("could not tell whose App Home to refresh", extra={"case_id": case_id})
            return
        for user_id in users:
            if user_id in live:
                self.refresh_user(user_id)

    def refresh_user(self, user_id: str) -> None:
        self._refresher.request(user_id)

    def idle(self) -> bool:
        """No refresh waits or runs: every Home shows the state of the last change."""
        return self._refresher.idle()

    def _refresh(self, user_id: str) -> None:
        self._publish(user_id, None, always=False)

    def involved(self, case_id: int) -> list[str]:
        """Reporter, owner, measure owner, and the approvers while the measure awaits them
        (or was just decided, so that it leaves their list)."""
        with self.db.read() as session:
            case = session.get(Case, case_id)
            if case is None:
                return []
            measure = case.measure
            users = [case.reporter_id, case.owner_id, measure.owner_id if measure else None]
            if case.state == CaseState.MEASURE_PROPOSED or _last_decision(session, case_id) in (
                APPROVAL_EVENTS
            ):
                users += list(self.workspace.roles.approvers)
        return list(dict.fromkeys(u for u in users if u and not actors.is_system(u)))

    def shutdown(self) -> None:
        self._refresher.shutdown()


# --- queries and shaping (one snapshot; pure functions of the rows) ---


def _size(pages: Mapping[str, int], key: str) -> int:
    return pages.get(key, PAGE)


def _page(pages: Mapping[str, int], key: str, found: tuple[list[Entry], int]) -> Section:
    entries, total = found
    return Section(key, entries[: _size(pages, key)], total)


# Each list is read in App Home's order (``Case.list_order``, indexed) and limited to the page
# shown, so the Home costs about the same with 500 open cases as with 10 000.
OPEN_BELOW = state_range(*OPEN_CASE_STATES)[1]
PROPOSED = state_range(CaseState.MEASURE_PROPOSED)
CURRENT_MEASURE = and_(MeasureRow.case_id == Case.id, MeasureRow.status == MeasureStatus.CURRENT)
IS_OPEN = Case.list_order < OPEN_BELOW


def _count(session: Session, query: Select[Any]) -> int:
    """How many rows ``query`` finds, counted on the index it filters by (no row is read)."""
    counting = query.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    return int(session.scalar(counting) or 0)


def _first(session: Session, query: Select[Case], size: int) -> list[Case]:
    return list(session.scalars(query.order_by(Case.list_order).limit(size)).all())


def _reports(
    session: Session, user_id: str, team_id: str | None, size: int
) -> tuple[list[Entry], int]:
    """The user's reports; with ``team_id``, only those reported from that workspace (or from
    none recorded)."""
    mine = Case.reporter_id == user_id
    if team_id:
        mine = and_(mine, Case.reporter_team.in_((team_id, "")))
    total = session.scalar(select(func.count()).where(mine)) or 0
    cases = session.scalars(select(Case).where(mine).order_by(Case.number.desc()).limit(size)).all()
    return [Entry(c.record()) for c in cases], int(total)


def _awaiting(session: Session, user_id: str, size: int) -> tuple[list[Entry], int]:
    """Proposed measures this approver may decide on (four eyes: not their own)."""
    low, high = PROPOSED
    query = (
        select(Case)
        .join(MeasureRow, CURRENT_MEASURE)
        .where(Case.list_order >= low, Case.list_order < high, MeasureRow.proposer_id != user_id)
    )
    cases = _first(session, query, size)
    return [Entry(case.record()) for case in cases], _count(session, query)


def _owned(session: Session, user_id: str, size: int) -> tuple[list[Entry], int]:
    """Open cases the viewer owns, or whose measure the viewer carries out: two indexed
    queries, merged in the Home's order."""
    own = select(Case).where(Case.owner_id == user_id, IS_OPEN)
    measures = (
        select(Case)
        .join(MeasureRow, CURRENT_MEASURE)
        .where(MeasureRow.owner_id == user_id, IS_OPEN, Case.owner_id.is_distinct_from(user_id))
    )
    owned = [(case, Entry(case.record())) for case in _first(session, own, size)]
    carried = [
        (case, Entry(case.record(), ("home.measure_owner", {})))
        for case in _first(session, measures, size)
    ]
    merged = sorted([*owned, *carried], key=lambda pair: pair[0].list_order or 0)
    total = _count(session, own) + _count(session, measures)
    return [entry for _, entry in merged[:size]], total


def _open_section(session: Session, size: int) -> Section:
    by_state: dict[str, dict[str, int]] = {}
    counts = session.execute(
        select(Case.state, Case.severity, func.count())
        .where(Case.state.in_(OPEN_STATES))
        .group_by(Case.state, Case.severity)
    ).all()
    ordered = sorted(counts, key=lambda row: list_order(row[0], row[1], 0))
    for state, severity, count in ordered:
        by_state.setdefault(state, {})[severity] = int(count)
    total = sum(int(count) for _, _, count in counts)
    cases = _first(session, select(Case).where(IS_OPEN), size)
    return Section("open", [Entry(case.record()) for case in cases], total, by_state)


def _still_waiting() -> ColumnElement[bool]:
    """A timer's case still waits in the state the timer measures."""
    return or_(
        *(
            and_(Timer.kind == kind, Case.state == state.value)
            for kind, state in WAITING_STATE.items()
        )
    )


def _overdue(session: Session, today: date, size: int) -> tuple[list[Entry], int]:
    """Escalations and reminders that have fired while the case still waits, and every Art. 73
    report not yet made (late ones first)."""
    # Fired, running timers of cases that still wait (the partial index keeps them few: the
    # transition that ends a wait cancels its timers, spent ones included), in anchor order; one
    # line per case and timer kind, its earliest.
    fired = (
        select(Timer, Case)
        .join(Case, Case.id == Timer.case_id)
        .where(text(FIRED_AND_RUNNING), _still_waiting())
        .order_by(Timer.anchor_at, Timer.id)
    )
    groups = (
        select(Timer.case_id, Timer.kind)
        .join(Case, Case.id == Timer.case_id)
        .where(text(FIRED_AND_RUNNING), _still_waiting())
    )
    timer_total = _count(session, select(func.count()).select_from(groups.distinct().subquery()))
    timers: list[tuple[Timer, Case]] = []
    seen: set[tuple[int, str]] = set()
    offset, chunk = 0, size * 4
    while len(timers) < size:
        rows = session.execute(fired.offset(offset).limit(chunk)).all()
        for timer, case in rows:
            if (case.id, timer.kind) not in seen and len(timers) < size:
                seen.add((case.id, timer.kind))
                timers.append((timer, case))
        if len(rows) < chunk:
            break
        offset += chunk
    owed = select(Case).where(Case.report_due.is_not(None))  # only open cases owe one
    deadline_total = _count(session, owed)
    deadlines = session.scalars(owed.order_by(Case.report_due, Case.number).limit(size)).all()

    late: list[Entry] = []
    coming: list[Entry] = []
    for case in deadlines:
        due = case.report_due
        assert due is not None
        key = "home.overdue.deadline_late" if due < today else "home.overdue.deadline"
        entry = Entry(case.record(), (key, {"due": due.isoformat()}))
        (late if due < today else coming).append(entry)
    waiting = [
        Entry(
            case.record(),
            (
                "home.overdue.timer",
                {
                    "what": Label(f"home.timer.{timer.kind}"),
                    "when": timer.anchor_at,
                    "count": timer.fired,
                },
            ),
        )
        for timer, case in timers
    ]
    return [*late, *waiting, *coming][:size], int(timer_total) + int(deadline_total)


def _notices(session: Session, size: int) -> tuple[list[Entry], int]:
    unsettled = text(UNSETTLED_NOTICE)  # the partial index's own condition, so it is used
    total = session.scalar(select(func.count()).select_from(PartnerNotice).where(unsettled)) or 0
    rows = session.execute(
        select(PartnerNotice, Case, Partner.name)
        .join(Case, Case.id == PartnerNotice.case_id)
        .outerjoin(Partner, Partner.id == PartnerNotice.partner_id)
        .where(unsettled)
        .order_by(PartnerNotice.sent_at, PartnerNotice.created_at)
        .limit(size)
    ).all()
    entries = [
        Entry(
            case.record(),
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
    return entries, int(total)


def _last_decision(session: Session, case_id: int) -> str | None:
    decisions = tuple(a.value for a in Action)
    return session.scalar(
        select(CaseEvent.kind)
        .where(CaseEvent.case_id == case_id, CaseEvent.kind.in_(decisions))
        .order_by(CaseEvent.seq.desc())
        .limit(1)
    )
