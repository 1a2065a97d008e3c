"""The guided thread's decisions: check who may, apply, record, and queue what Slack must show.

One transaction per decision: the case row is locked, the button's version compared with the
case's, the state machine asked, the case changed, the event appended to the hash chain and the
thread messages queued in the outbox. Two approvers clicking at once, a double click or a
redelivered request therefore make exactly one transition; the others are told why not.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy.orm import Session

from bot import actors, audit, duties, notices, panels, timers
from bot.clock import Clock
from bot.domain import Measure
from bot.errors import UserError
from bot.messages import t
from bot.people import People
from bot.request_context import bind_case
from bot.step_inputs import Assessment, DoneEvidence, MeasurePlan, Reasoned
from bot.views import steps as step_views
from bot.workflow import Action, Actor, Allowed, Blocker, CaseFacts, CaseState, decide
from bot.workspace import Workspace
from storage import cases as case_rows
from storage import outbox
from storage.db import Database
from storage.models import Case

INPUTS: dict[Action, type[BaseModel] | None] = {
    Action.ACKNOWLEDGE: None,
    Action.CONFIRM: Assessment,
    Action.DISMISS: Reasoned,
    Action.PROPOSE_MEASURE: MeasurePlan,
    Action.APPROVE: None,
    Action.REJECT: Reasoned,
    Action.MARK_DONE: DoneEvidence,
    Action.CLOSE: None,
    Action.REOPEN: Reasoned,
}


def needs_art73_6_warning(case: Case, measure: str) -> bool:
    """Altering the system of a serious incident may spoil the investigation (Art. 73(6))."""
    return measure == Measure.BRING_INTO_CONFORMITY and duties.serious(case)


class Steps:
    def __init__(self, db: Database, workspace: Workspace, clock: Clock, people: People) -> None:
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.people = people

    def check(
        self, number: int, version: int, action: Action, user_id: str, team_id: str | None
    ) -> Case:
        """May this user start this step now? Called before a modal opens, so nobody fills in a
        form only to be refused at the end."""
        with self.db.transaction() as session:
            case = self._load(session, number, version)
            self._decide(session, case, action, self.people.actor(user_id, team_id))
            return case

    def act(
        self,
        number: int,
        version: int,
        action: Action,
        user_id: str,
        team_id: str | None,
        inputs: BaseModel | None = None,
        *,
        submission_key: str | None = None,
    ) -> Case:
        with self.db.transaction() as session:
            case = case_rows.by_number(session, number, lock=True)
            if case is None:
                raise UserError("case.unknown", {"ref": f"NC-{number}"})
            bind_case(case.id)  # every log line of this request names the case
            if submission_key and case.details.get("last_submission") == submission_key:
                return case  # the same modal submitted again: it already took effect
            self._load(session, number, version, case)
            decision = self._decide(session, case, action, self.people.actor(user_id, team_id))
            data = inputs.model_dump(mode="json") if inputs is not None else {}
            self._validate(case, action, data)
            self._apply(case, action, user_id, data)
            now = self.clock()
            case.state = decision.to_state.value
            case.version += 1
            case.updated_at = now
            if submission_key:
                case.details = {**case.details, "last_submission": submission_key}
            audit.record(
                session,
                case,
                action.value,
                actor=user_id,
                at=now,
                data={
                    "from": decision.from_state.value,
                    "to": decision.to_state.value,
                    "version": case.version,
                    **data,
                },
            )
            timers.on_transition(session, case, action, self.workspace, now)
            if action is Action.APPROVE:
                notices.queue_for_approval(session, case, self.workspace, now)
            if action is Action.CONFIRM:
                duties.on_assessment(session, case, self.workspace, now, self.people.team_id)
            self._queue_messages(session, case, action, user_id, data, version)
            for panel in case.details.get("panels", {}):
                panels.refresh(session, case, panel, now, f"v{case.version}")
            return case

    # --- rules ---

    def _load(self, session: Session, number: int, version: int, case: Case | None = None) -> Case:
        case = case or case_rows.by_number(session, number)
        if case is None:
            raise UserError("case.unknown", {"ref": f"NC-{number}"})
        if case.version != version:
            state = t(f"state.{case.state}", self.workspace.language)
            raise UserError("refusal.stale", {"ref": case.ref, "state": state})
        return case

    def _decide(self, session: Session, case: Case, action: Action, actor: Actor) -> Allowed:
        measure = case.details.get("measure") or {}
        facts = CaseFacts(
            state=CaseState(case.state),
            reporter_id=case.reporter_id,
            owner_id=case.owner_id,
            measure_proposer_id=measure.get("proposer"),
            measure_owner_id=measure.get("owner"),
            close_blockers=self.close_blockers(session, case),
        )
        decision = decide(facts, action, actor)
        if not isinstance(decision, Allowed):
            raise UserError(decision.key, decision.params)
        return decision

    def close_blockers(self, session: Session, case: Case) -> tuple[Blocker, ...]:
        """What still stands between a carried-out measure and closing; later duties add here."""
        return notices.close_blockers(session, case) + duties.blockers(session, case)

    def _validate(self, case: Case, action: Action, data: dict[str, Any]) -> None:
        today = self.clock().astimezone(ZoneInfo(self.workspace.timezone)).date()
        if action is Action.CONFIRM and date.fromisoformat(data["aware_on"]) > today:
            # Art. 73's deadlines count from this day: a future date would postpone them.
            raise UserError("assess.aware.future", field="aware_on")
        if action is not Action.PROPOSE_MEASURE:
            return
        if date.fromisoformat(data["target_date"]) < today:
            raise UserError("measure.past_date", field="target_date")
        if needs_art73_6_warning(case, data["measure"]) and not data.get("art73_6"):
            raise UserError("measure.art73_6.required", field="art73_6")

    def _apply(self, case: Case, action: Action, user_id: str, data: dict[str, Any]) -> None:
        details = dict(case.details)
        now = self.clock().isoformat()
        if action is Action.ACKNOWLEDGE:
            case.owner_id = user_id
        elif action is Action.CONFIRM:
            details["assessment"] = {**data, "by": user_id, "at": now}
            case.risk = data["risk"]  # "unknown" from the report is settled here
        elif action is Action.DISMISS:
            details["dismissal"] = {**data, "by": user_id, "at": now}
        elif action is Action.PROPOSE_MEASURE:
            details["measure"] = {**data, "proposer": user_id, "proposed_at": now, "approvals": []}
            if needs_art73_6_warning(case, data["measure"]):
                # Art. 73(6): the warning was shown, and this person went on.
                details["measure"]["art73_6_warning"] = {"shown": True, "continued_by": user_id}
        elif action is Action.APPROVE:
            measure = dict(details["measure"])
            measure["approvals"] = [*measure.get("approvals", []), {"by": user_id, "at": now}]
            details["measure"] = measure
        elif action is Action.REJECT:
            rejected = {**details.pop("measure"), "rejection": {**data, "by": user_id, "at": now}}
            details["earlier_measures"] = [*details.get("earlier_measures", []), rejected]
        elif action is Action.MARK_DONE:
            details["measure"] = {**details["measure"], "done": {**data, "by": user_id, "at": now}}
        elif action is Action.REOPEN:
            if "measure" in details:
                details["earlier_measures"] = [
                    *details.get("earlier_measures", []),
                    details.pop("measure"),
                ]
            details["reopenings"] = [
                *details.get("reopenings", []),
                {**data, "by": user_id, "at": now},
            ]
        case.details = details

    # --- what Slack must show ---

    def _queue_messages(
        self,
        session: Session,
        case: Case,
        action: Action,
        user_id: str,
        data: dict[str, Any],
        old_version: int,
    ) -> None:
        now = self.clock()
        lang = self.workspace.language
        approvers = list(self.workspace.roles.approvers)
        line = step_views.timeline_line(action.value, case, user_id, lang, data)
        outbox.enqueue(
            session,
            dedupe_key=f"card:{case.id}:v{case.version}",
            kind="card_update",
            target=case.channel,
            case_id=case.id,
            now=now,
        )
        outbox.enqueue(
            session,
            dedupe_key=f"step-done:{case.id}:{old_version}",
            kind="step_done",
            target=case.channel,
            case_id=case.id,
            now=now,
            payload={"step": f"step:{case.id}:{old_version}", "line": line},
        )
        text, blocks = step_views.thread_update(line, case, lang, approvers)
        outbox.enqueue(
            session,
            dedupe_key=f"step:{case.id}:{case.version}",
            kind="thread",
            target=case.channel,
            case_id=case.id,
            in_thread=True,
            now=now,
            payload={"text": text, "blocks": blocks, "step": case.state},
        )
        if action is Action.DISMISS:
            # A report by monitoring has no one to DM: its thread hears the reason instead.
            to_thread = actors.is_system(case.reporter_id)
            outbox.enqueue(
                session,
                dedupe_key=f"dismissed:{case.id}:{case.version}",
                kind="thread" if to_thread else "dm",
                target=case.channel if to_thread else case.reporter_id,
                case_id=case.id,
                in_thread=to_thread,
                now=now,
                payload={
                    "text": t(
                        "dismissed.thread" if to_thread else "dismissed.reporter",
                        lang,
                        ref=case.ref,
                        reason=step_views.safe_reason(data["reason"]),
                    )
                },
            )
