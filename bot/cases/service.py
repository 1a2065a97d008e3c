"""Reporting and reading cases: the services the report conversation and the commands call."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.audit import trail as audit
from bot.cases import actors
from bot.cases.report_input import ReportInput
from bot.cases.state import CaseDetails, CaseRecord
from bot.cases.workflow import CaseState, next_step_key
from bot.clock import Clock
from bot.delivery import messages, render
from bot.errors import UserError
from bot.messages import t
from bot.notices import views as notice_views
from bot.ops.people import People
from bot.ops.request_context import bind_case
from bot.ops.workspace import Workspace
from bot.timers import engine as timers
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage.db import Database
from storage.models import Case

OPEN_STATES = tuple(s.value for s in CaseState if s not in (CaseState.CLOSED, CaseState.DISMISSED))
CASE_REF = re.compile(r"^\s*NC-?(\d{1,9})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Reported:
    case: CaseRecord
    created: bool


class _Duplicate(Exception):
    """Rolls back a duplicate's transaction (giving its number back), carrying the original."""

    def __init__(self, case: Case) -> None:
        self.case_id = case.id


def parse_ref(text: str) -> int | None:
    match = CASE_REF.match(text)
    return int(match.group(1)) if match else None


class Cases:
    def __init__(
        self, db: Database, workspace: Workspace, clock: Clock, people: People | None = None
    ) -> None:
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.people = people or People(workspace, None)

    @property
    def lang(self) -> str:
        return self.workspace.language

    def report(
        self,
        data: ReportInput,
        *,
        reporter_id: str,
        reporter_team: str,
        submission_key: str,
        response_url: str | None = None,
    ) -> Reported:
        """Store a new case with its first event and the messages it owes, in one transaction.

        A view submitted twice (double click, retry, replay) maps to one case through the unique
        submission key; the duplicate gets the original back.
        """
        try:
            with self.db.transaction() as session:
                number = case_rows.next_number(session)  # serialises concurrent reports
                existing = case_rows.by_submission(session, submission_key)
                if existing is not None:
                    raise _Duplicate(existing)
                case = self.open_in(
                    session,
                    data,
                    number=number,
                    reporter_id=reporter_id,
                    reporter_team=reporter_team,
                    submission_key=submission_key,
                    response_url=response_url,
                )
                reported = case.record()
            return Reported(reported, created=True)
        except _Duplicate as duplicate:
            # The duplicate's session was rolled back: read the original afresh.
            with self.db.read() as session:
                original = case_rows.by_id(session, duplicate.case_id)
                assert original is not None
                return Reported(original.record(), created=False)

    def open_in(
        self,
        session: Session,
        data: ReportInput,
        *,
        number: int,
        reporter_id: str,
        reporter_team: str,
        submission_key: str,
        response_url: str | None = None,
    ) -> Case:
        """A new case inside the caller's transaction: the row, its first event, the messages
        it owes and its timers. Alerts from monitoring (``bot.alerts``) open cases here too, in
        the transaction that records the alert group."""
        case = self._new_case(session, data, number, reporter_id, reporter_team, submission_key)
        bind_case(case.id)
        self._enqueue_first_messages(session, case, response_url)
        timers.start_for_report(session, case, self.workspace, self.clock())
        return case

    def _new_case(
        self,
        session: Session,
        data: ReportInput,
        number: int,
        reporter_id: str,
        reporter_team: str,
        submission_key: str,
    ) -> Case:
        system = catalogue_rows.system(session, data.system_id or "")
        if system is None or not system.active:
            raise UserError("report.unknown_system", {"system": data.system_id}, field="system")
        now = self.clock()
        case = Case(
            number=number,
            submission_key=submission_key,
            system_id=system.id,
            system_version=system.version,
            title=data.title or "",
            description=data.description or "",
            requirements=list(data.requirements),
            risk=data.risk or "unknown",
            severity=data.severity or "medium",
            evidence_url=data.evidence_url,
            reporter_id=reporter_id,
            reporter_team=reporter_team,
            state=CaseState.REPORTED.value,
            version=1,
            owner_id=None,
            language=self.lang,
            channel=self.workspace.triage_channel,
            reported_at=now,
            updated_at=now,
            event_count=0,
            details=CaseDetails(provider=self.workspace.provider.fixed()),
        )
        session.add(case)
        session.flush()
        audit.record(
            session,
            case,
            "reported",
            actor=reporter_id,
            at=now,
            data={
                "system": {"id": system.id, "name": system.name, "version": system.version},
                "team": reporter_team,
                "submission_key": submission_key,
                **data.model_dump(mode="json"),
            },
        )
        return case

    def _enqueue_first_messages(
        self, session: Session, case: Case, response_url: str | None
    ) -> None:
        now = self.clock()
        messages.queue(session, messages.card(case), now)
        first = render.acknowledge_step(case.id, self.lang)
        messages.queue(session, messages.step(case, first, "acknowledge"), now)
        if actors.is_system(case.reporter_id):
            return  # nobody to tell: the thread is where monitoring's case is followed
        messages.queue(session, messages.reporter_confirmation(case, response_url), now)

    # --- reading ---

    def find(self, number: int) -> CaseRecord | None:
        with self.db.read() as session:
            case = case_rows.by_number(session, number)
            return case.record() if case is not None else None

    def may_see(self, case: CaseRecord, user_id: str, team_id: str | None) -> bool:
        """Its reporter and the members of the roles — in our workspace (``People.reader``)."""
        return self.people.reads_all(user_id, team_id) or self.people.is_reporter(
            case.reporter_id, case.reporter_team, user_id, team_id
        )

    def visible(
        self,
        user_id: str,
        team_id: str | None,
        scope: str,
        system_id: str | None = None,
        *,
        limit: int = 50,
    ) -> list[CaseRecord]:
        """``/nonconformity list``: members of the roles see every case, others their reports."""
        member = self.people.reads_all(user_id, team_id)
        with self.db.read() as session:
            found = case_rows.listing(
                session,
                states=OPEN_STATES if scope == "open" else None,
                involving=user_id if scope == "mine" else None,
                visible_to=None if member else user_id,
                reporter_team=team_id if self.people.is_external(team_id) else None,
                system_id=system_id,
                limit=limit,
            )
            return [case.record() for case in found]

    def systems_text(self) -> str:
        with self.db.read() as session:
            listing = [
                (
                    s.id,
                    s.name,
                    s.version,
                    [(p.name, p.role) for p in catalogue_rows.partners_of(session, s.id)],
                )
                for s in catalogue_rows.active_systems(session)
            ]
        return notice_views.systems_list(listing, self.lang)

    def system_names(self) -> dict[str, str]:
        with self.db.read() as session:
            return {s.id: s.name for s in catalogue_rows.active_systems(session)}

    def system_choices(self) -> list[tuple[str, str]]:
        with self.db.read() as session:
            return [(s.id, f"{s.name} {s.version}") for s in catalogue_rows.active_systems(session)]

    def notes(self, case: CaseRecord) -> list[str]:
        with self.db.read() as session:
            return render.case_notes(session, case)

    def next_step(self, case: CaseRecord) -> str:
        return t(next_step_key(CaseState(case.state)), self.lang)
