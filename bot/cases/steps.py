"""The guided thread's decisions: check who may, apply, record, and queue what Slack must show.

One transaction per decision: the case row is locked, the button's version compared with the
case's, the state machine asked, the case changed, the event appended to the hash chain and the
thread messages queued in the outbox. Two approvers clicking at once, a double click or a
redelivered request therefore make exactly one transition; the others are told why not.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from bot.audit import trail as audit
from bot.cases import actors, panels, step_views
from bot.cases import inputs as step_inputs
from bot.cases.domain import Measure, SeriousIncident
from bot.cases.state import (
    Art73Warning,
    Assessment,
    CaseDetails,
    CaseRecord,
    CorrectiveMeasure,
    Done,
    MeasureStatus,
    Reasoned,
    Stamp,
)
from bot.cases.workflow import (
    CLOSE_BLOCKED,
    Action,
    Actor,
    Allowed,
    Blocker,
    CaseFacts,
    CaseState,
    Refused,
    decide,
)
from bot.clock import Clock, today_in
from bot.delivery import messages, render
from bot.duties import service as duties
from bot.errors import UserError
from bot.messages import t
from bot.notices import service as notices
from bot.ops.people import People
from bot.ops.request_context import bind_case
from bot.ops.workspace import Workspace
from bot.timers import engine as timers
from storage import cases as case_rows
from storage.db import Database
from storage.models import Case

INPUTS: dict[Action, type[BaseModel] | None] = {
    Action.ACKNOWLEDGE: None,
    Action.CONFIRM: step_inputs.Assessment,
    Action.DISMISS: step_inputs.Reasoned,
    Action.PROPOSE_MEASURE: step_inputs.MeasurePlan,
    Action.APPROVE: None,
    Action.REJECT: step_inputs.Reasoned,
    Action.MARK_DONE: step_inputs.DoneEvidence,
    Action.CLOSE: None,
    Action.REOPEN: step_inputs.Reasoned,
}


def needs_art73_6_warning(details: CaseDetails, measure: str) -> bool:
    """Altering the system of a serious incident may spoil the investigation (Art. 73(6))."""
    return measure == Measure.BRING_INTO_CONFORMITY and details.art73() is not None


class Steps:
    def __init__(self, db: Database, workspace: Workspace, clock: Clock, people: People) -> None:
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.people = people

    def check(
        self, number: int, version: int, action: Action, user_id: str, team_id: str | None
    ) -> CaseRecord:
        """May this user start this step now? Called before a modal opens, so nobody fills in a
        form only to be refused at the end."""
        with self.db.transaction() as session:
            case = self._load(session, number, version)
            self._decide(session, case, action, self.people.actor(user_id, team_id))
            return case.record()

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
    ) -> CaseRecord:
        with self.db.transaction() as session:
            case = case_rows.by_number(session, number, lock=True)
            if case is None:
                raise UserError("case.unknown", {"ref": f"NC-{number}"})
            bind_case(case.id)  # every log line of this request names the case
            if submission_key and case.details.last_submission == submission_key:
                return case.record()  # the same modal submitted again: it already took effect
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
                case.details = case.details.model_copy(update={"last_submission": submission_key})
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
                duties.on_assessment(session, case, self.workspace, now, self.people.installation)
            self._queue_messages(session, case, action, user_id, data, version)
            if render.CLOSE_PANEL in case.details.panels:  # the Close step was answered
                case.details = case.details.without_panel(render.CLOSE_PANEL)
            for panel in case.details.panels:
                panels.refresh(session, case, panel, now, f"v{case.version}")
            if case.state == CaseState.MEASURE_DONE:
                # The Close step keeps its checklist current as notices and duties settle.
                close_step = messages.step_key(case.id, case.version)
                case.details = case.details.with_panel(render.CLOSE_PANEL, close_step)
            return case.record()

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
        measure = case.measure
        carry = case.measures_to_carry_out
        if action is Action.MARK_DONE and carry:
            measure = carry[0]  # Done is for the oldest measure still to be carried out
        earlier = case.measures_in_force[:-1]  # measures before an added one
        earlier_state = None
        if earlier:
            open_ = any(m.measure.done is None for m in earlier)
            earlier_state = CaseState.MEASURE_APPROVED if open_ else CaseState.MEASURE_DONE
        facts = CaseFacts(
            state=CaseState(case.state),
            reporter_id=case.reporter_id,
            owner_id=case.owner_id,
            measure_proposer_id=measure.proposer_id if measure else None,
            measure_owner_id=measure.owner_id if measure else None,
            close_blockers=self.close_blockers(session, case),
            measure_amenders=measure.measure.amenders if measure else frozenset(),
            earlier_measures=earlier_state,
            open_after_done=len(carry) > 1,
        )
        decision = decide(facts, action, actor)
        if isinstance(decision, Refused) and decision.key == CLOSE_BLOCKED:
            lang = self.workspace.language
            items = "\n".join(f"• {t(key, lang, **params)}" for key, params in facts.close_blockers)
            raise UserError(CLOSE_BLOCKED, {"ref": case.ref, "items": items})
        if not isinstance(decision, Allowed):
            raise UserError(decision.key, decision.params)
        return decision

    def close_blockers(self, session: Session, case: Case) -> tuple[Blocker, ...]:
        """What still stands between a carried-out measure and closing: the checklist's open
        items (each notice, each duty), as the Close step shows them."""
        checklist = render.close_checklist(session, case.record())
        return tuple((key, params) for ok, key, params in checklist if not ok)

    def _validate(self, case: Case, action: Action, data: dict[str, Any]) -> None:
        today = today_in(self.workspace.timezone, self.clock())
        if action is Action.CONFIRM and date.fromisoformat(data["aware_on"]) > today:
            # Art. 73's deadlines count from this day: a future date would postpone them.
            raise UserError("assess.aware.future", field="aware_on")
        if (
            action is Action.CONFIRM
            and data["serious_incident"] != SeriousIncident.NONE
            and not data.get("member_states")
        ):
            # Art. 73(1): reported to the authorities of the Member States where it occurred.
            raise UserError("assess.member_states.required", field="member_states")
        occurred = data.get("occurred_on") if action is Action.CONFIRM else None
        if occurred and date.fromisoformat(occurred) > today:
            raise UserError("assess.occurred.future", field="occurred_on")
        if action is not Action.PROPOSE_MEASURE:
            return
        if date.fromisoformat(data["target_date"]) < today:
            raise UserError("measure.past_date", field="target_date")
        if data.get("partner_by") and date.fromisoformat(data["partner_by"]) < today:
            raise UserError("measure.past_date.partners", field="partner_by")
        if needs_art73_6_warning(case.details, data["measure"]) and not data.get("art73_6"):
            raise UserError("measure.art73_6.required", field="art73_6")

    def _apply(self, case: Case, action: Action, user_id: str, data: dict[str, Any]) -> None:
        details = case.details
        now = self.clock()
        if action is Action.ACKNOWLEDGE:
            case.owner_id = user_id
        elif action is Action.CONFIRM:
            assessment = Assessment.model_validate({**data, "by": user_id, "at": now})
            details = details.model_copy(update={"assessment": assessment})
            case.risk = data["risk"]  # "unknown" from the report is settled here
        elif action is Action.DISMISS:
            dismissal = Reasoned(reason=data["reason"], by=user_id, at=now)
            details = details.model_copy(update={"dismissal": dismissal})
        elif action is Action.PROPOSE_MEASURE:
            warning = None
            if needs_art73_6_warning(case.details, data["measure"]):
                # Art. 73(6): the warning was shown, and this person went on.
                warning = Art73Warning(continued_by=user_id)
            case.add_measure(
                CorrectiveMeasure.model_validate(
                    {**data, "proposer": user_id, "proposed_at": now, "art73_6_warning": warning}
                )
            )
        elif action is Action.APPROVE:
            self._change_measure(
                case, lambda m: {"approvals": (*m.approvals, Stamp(by=user_id, at=now))}
            )
        elif action is Action.REJECT:
            rejection = Reasoned(reason=data["reason"], by=user_id, at=now)
            self._change_measure(
                case, lambda m: {"rejection": rejection, "status": MeasureStatus.REJECTED}
            )
        elif action is Action.MARK_DONE:
            done = Done(evidence=data["evidence"], link=data.get("link"), by=user_id, at=now)
            row = case.measures_to_carry_out[0]  # the state machine allows Done only with one
            row.write(row.measure.model_copy(update={"done": done}))
        elif action is Action.REOPEN:
            for row in case.measures_in_force:  # every measure in force is set aside
                row.write(row.measure.model_copy(update={"status": MeasureStatus.SUPERSEDED}))
            reopening = Reasoned(reason=data["reason"], by=user_id, at=now)
            details = details.model_copy(update={"reopenings": (*details.reopenings, reopening)})
        case.details = details

    @staticmethod
    def _change_measure(case: Case, change: Callable[[CorrectiveMeasure], dict[str, Any]]) -> None:
        row = case.measure
        if row is None:  # the state machine allows these steps only with a measure
            raise UserError("case.unknown", {"ref": case.ref})
        row.write(row.measure.model_copy(update=change(row.measure)))

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
        line = step_views.timeline_line(action.value, case.record(), user_id, lang, data)
        messages.queue(session, messages.card_refresh(case, f"v{case.version}"), now)
        messages.queue(session, messages.step_answered(case, old_version, line), now)
        next_step = render.next_step(case.id, lang, approvers)
        messages.queue(session, messages.step(case, next_step, case.state), now)
        if action is Action.DISMISS:
            reason = step_views.safe_reason(data["reason"])
            key = f"dismissed:{case.id}:{case.version}"
            if actors.is_system(case.reporter_id):
                # A report by monitoring has no one to DM: its thread hears the reason instead.
                text = t("dismissed.thread", lang, ref=case.ref, reason=reason)
                told = messages.thread_line(case, key, text, step=None)
            else:
                text = t("dismissed.reporter", lang, ref=case.ref, reason=reason)
                told = messages.dm(case.reporter_id, key, text, case_id=case.id)
            messages.queue(session, told, now)
