"""Changing a case without starting over: severity, owners, the target date, the measure, a
second measure (the card's **Change…** menu).

Each change is one transaction, as a step is: the case row is locked, the modal's case version
compared with the case's, the roles table asked (``workflow.decide_change``), the change applied
with its reason, the audit event appended, the timers moved, and the thread line, the card's
update and the people concerned queued in the outbox. Severity, owners and the target date leave
the case where it was (its version, and so the thread's buttons, stay valid); amending or adding
a measure sends the case back to approval, under the four-eyes rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from bot.audit import trail as audit
from bot.cases import panels, step_views
from bot.cases.state import Amendment, Art73Warning, CaseRecord, CorrectiveMeasure
from bot.cases.steps import needs_art73_6_warning
from bot.cases.views import user
from bot.cases.workflow import CHANGES, CaseFacts, CaseState, Change, decide_change
from bot.clock import Clock, today_in
from bot.delivery import messages, render
from bot.duties.service import refuse_if_stale
from bot.errors import UserError
from bot.messages import t
from bot.ops.people import People
from bot.ops.request_context import bind_case
from bot.ops.workspace import Workspace
from bot.timers import engine as timers
from bot.timers.durations import format_duration
from storage import cases as case_rows
from storage import notices as notice_rows
from storage.db import Database
from storage.models import Case, MeasureRow

# The audit event each change records (``bot.audit.replay`` replays every one).
SEVERITY_CHANGED = "severity_changed"
OWNER_REASSIGNED = "owner_reassigned"
TARGET_DATE_CHANGED = "target_date_changed"
MEASURE_AMENDED = "measure_amended"
MEASURE_ADDED = "measure_added"


class Changes:
    def __init__(self, db: Database, workspace: Workspace, clock: Clock, people: People) -> None:
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.people = people

    def check(
        self, number: int, version: int, change: Change, user_id: str, team_id: str | None
    ) -> CaseRecord:
        """May this user make this change now? Asked before the modal opens."""
        with self.db.read() as session:
            case = self._case(session, number)
            refuse_if_stale(case, version, self.workspace.language)
            self._may(case, change, user_id, team_id)
            return case.record()

    # --- the changes ---

    def change_severity(
        self,
        ref: tuple[int, int, str],
        who: tuple[str, str | None],
        severity: str,
        reason: str,
        submission_key: str | None = None,
    ) -> CaseRecord:
        def apply(session: Session, case: Case, now_key: str) -> dict[str, Any]:
            before = case.severity
            if severity == before:
                raise UserError("change.severity.same", field="severity")
            case.severity = severity
            timers.on_severity_changed(session, case, self.workspace, self.clock(), now_key)
            return {"from": before, "to": severity}

        return self._change(
            ref, who, Change.SEVERITY, SEVERITY_CHANGED, reason, apply, submission_key
        )

    def reassign(
        self,
        ref: tuple[int, int, str],
        who: tuple[str, str | None],
        whose: str,
        owner: str,
        reason: str,
        submission_key: str | None = None,
        position: str | None = None,
    ) -> CaseRecord:
        def apply(session: Session, case: Case, now_key: str) -> dict[str, Any]:
            before: str | None
            if whose == "measure":
                if case.measure is None:
                    raise UserError("change.reassign.no_measure", field="whose")
                row = _open_measure(case, position)
                before = row.owner_id
                if owner == before:
                    raise UserError("change.reassign.same", field="owner")
                row.write(row.measure.model_copy(update={"owner": owner}))
                at: int | None = row.position
            else:
                before = case.owner_id
                if owner == before:
                    raise UserError("change.reassign.same", field="owner")
                case.owner_id = owner
                at = None
            told = t(
                "change.reassign.dm." + whose,
                self.workspace.language,
                ref=case.ref,
                who=user(who[0], self.workspace.language),
                reason=step_views.safe_reason(reason),
            )
            self._tell(session, case, now_key, [owner], told, who[0])
            data: dict[str, Any] = {"whose": whose, "from": before, "to": owner}
            if at is not None:
                data["position"] = at
            return data

        return self._change(
            ref, who, Change.REASSIGN, OWNER_REASSIGNED, reason, apply, submission_key
        )

    def change_target_date(
        self,
        ref: tuple[int, int, str],
        who: tuple[str, str | None],
        target: date,
        reason: str,
        submission_key: str | None = None,
        position: str | None = None,
    ) -> CaseRecord:
        def apply(session: Session, case: Case, now_key: str) -> dict[str, Any]:
            row = _open_measure(case, position)
            before = row.measure.target_date
            if target < today_in(self.workspace.timezone, self.clock()):
                raise UserError("measure.past_date", field="target_date")
            if target == before:
                raise UserError("change.target_date.same", field="target_date")
            row.write(row.measure.model_copy(update={"target_date": target}))
            timers.on_target_date_changed(session, case, self.workspace, self.clock(), now_key)
            lang = self.workspace.language
            told = t(
                "change.target_date.dm",
                lang,
                ref=case.ref,
                who=user(who[0], lang),
                before=before.isoformat(),
                after=target.isoformat(),
                reason=step_views.safe_reason(reason),
            )
            self._tell(session, case, now_key, self.workspace.roles.approvers, told, who[0])
            return {"position": row.position, "from": before.isoformat(), "to": target.isoformat()}

        return self._change(
            ref, who, Change.TARGET_DATE, TARGET_DATE_CHANGED, reason, apply, submission_key
        )

    def amend_measure(
        self,
        ref: tuple[int, int, str],
        who: tuple[str, str | None],
        plan: dict[str, Any],
        reason: str,
        submission_key: str | None = None,
    ) -> CaseRecord:
        """Back to approval under four eyes: the approvals so far no longer count, and the
        person who amended may not approve the amendment."""

        def apply(session: Session, case: Case, now_key: str) -> dict[str, Any]:
            row = case.measure
            assert row is not None  # the roles table offers this only with a measure
            now = self.clock()
            self._validate_plan(case, plan, row.measure.measure.value)
            notified = case.state == CaseState.MEASURE_APPROVED and bool(row.measure.approvals)
            amendment = Amendment(reason=reason, by=who[0], at=now, notified=notified)
            fields = {k: v for k, v in plan.items() if k not in ("measure", "art73_6")}
            amended = CorrectiveMeasure.model_validate(
                {
                    **row.measure.model_dump(),
                    **fields,
                    "approvals": (),
                    "amendments": (*row.measure.amendments, amendment),
                    "art73_6_warning": self._warning(case, plan, who[0])
                    or row.measure.art73_6_warning,
                }
            )
            row.write(amended)
            if notified:
                self._supersede_notices(session, case)
            # The kind is the measure's own, whatever the modal's metadata said.
            return {"position": row.position, **plan, "measure": row.measure.measure.value}

        return self._change(
            ref, who, Change.AMEND_MEASURE, MEASURE_AMENDED, reason, apply, submission_key
        )

    def add_measure(
        self,
        ref: tuple[int, int, str],
        who: tuple[str, str | None],
        plan: dict[str, Any],
        reason: str,
        submission_key: str | None = None,
    ) -> CaseRecord:
        """A further measure, proposed, approved, notified and carried out on its own."""

        def apply(session: Session, case: Case, now_key: str) -> dict[str, Any]:
            self._validate_plan(case, plan, str(plan["measure"]))
            measure = CorrectiveMeasure.model_validate(
                {
                    **plan,
                    "proposer": who[0],
                    "proposed_at": self.clock(),
                    "art73_6_warning": self._warning(case, plan, who[0]),
                }
            )
            row = case.add_measure(measure)
            return {"position": row.position, **plan}

        return self._change(
            ref, who, Change.ADD_MEASURE, MEASURE_ADDED, reason, apply, submission_key
        )

    # --- one transaction per change ---

    def _change(
        self,
        ref: tuple[int, int, str],
        who: tuple[str, str | None],
        change: Change,
        kind: str,
        reason: str,
        apply: Callable[[Session, Case, str], dict[str, Any]],
        submission_key: str | None,
    ) -> CaseRecord:
        number, version, seen = ref
        user_id, team_id = who
        with self.db.transaction() as session:
            case = self._case(session, number, lock=True)
            if submission_key and case.details.last_submission == submission_key:
                return case.record()  # the same modal submitted again: it already took effect
            # A change that leaves the case's version as it was is compared by what it changes:
            # a modal opened before another change of the same thing (a replay included) is stale.
            unchanged = seen == shown(case.record(), change)
            refuse_if_stale(case, version, self.workspace.language, unchanged=unchanged)
            target = self._may(case, change, user_id, team_id)
            now = self.clock()
            now_key = f"{case.event_count + 1}"  # this change's event: unique in the case
            old_state, old_version = case.state, case.version
            data = apply(session, case, now_key)
            if target is not None:
                case.state = target.value
                case.version += 1
            elif case.state == CaseState.MEASURE_PROPOSED and (
                kind == TARGET_DATE_CHANGED
                or (kind == OWNER_REASSIGNED and data.get("whose") == "measure")
            ):
                # What the approvers are asked to approve changed: the Approve buttons they were
                # shown go stale, and the thread asks them anew with the measure as it is now.
                case.version += 1
                data = {**data, "version": case.version}
            case.updated_at = now
            if submission_key:
                case.details = case.details.model_copy(update={"last_submission": submission_key})
            event = {**data, "reason": reason}
            if target is not None:
                event |= {"from_state": old_state, "to_state": case.state, "version": case.version}
            # Each kind spelled out: ``tests/unit/test_audit_kinds.py`` checks every one replays.
            audit.record(
                session,
                case,
                "severity_changed"
                if kind == SEVERITY_CHANGED
                else "owner_reassigned"
                if kind == OWNER_REASSIGNED
                else "target_date_changed"
                if kind == TARGET_DATE_CHANGED
                else "measure_amended"
                if kind == MEASURE_AMENDED
                else "measure_added",
                actor=user_id,
                at=now,
                data=event,
            )
            self._queue(session, case, kind, event, user_id, old_version, now_key)
            return case.record()

    def _tell(
        self,
        session: Session,
        case: Case,
        now_key: str,
        people: Iterable[str],
        text: str,
        actor: str,
    ) -> None:
        """A DM to each person a change concerns, once per change (the key names it), but
        never to the one who made it: nobody is told what they just did themselves."""
        for person in dict.fromkeys(p for p in people if p != actor):
            key = f"change-dm:{case.id}:{now_key}:{person}"
            messages.queue(session, messages.dm(person, key, text, case_id=case.id), self.clock())

    def _queue(
        self,
        session: Session,
        case: Case,
        kind: str,
        event: dict[str, Any],
        user_id: str,
        old_version: int,
        now_key: str,
    ) -> None:
        now = self.clock()
        lang = self.workspace.language
        line = change_line(kind, case.record(), user_id, lang, event, self.workspace)
        if case.version != old_version:  # back to approval: the thread asks for it anew
            timers.on_measure_changed(session, case, self.workspace, now)
            if render.CLOSE_PANEL in case.details.panels:  # the Close step was answered
                case.details = case.details.without_panel(render.CLOSE_PANEL)
            messages.queue(session, messages.step_answered(case, old_version, line), now)
            approvers = list(self.workspace.roles.approvers)
            next_step = render.next_step(case.id, lang, approvers)
            messages.queue(session, messages.step(case, next_step, case.state), now)
        else:
            key = f"change:{case.id}:{now_key}"
            messages.queue(session, messages.thread_line(case, key, line, step=None), now)
        messages.queue(session, messages.card_refresh(case, f"change:{now_key}"), now)
        for panel in case.details.panels:
            panels.refresh(session, case, panel, now, f"change:{now_key}")

    @staticmethod
    def _supersede_notices(session: Session, case: Case) -> None:
        """The partners' notices of the measure as it was: the update notice, queued when the
        amendment is approved, replaces them — they stop reminding and no longer hold up Close
        (a receipt pressed on one is still recorded)."""
        version = case.details.notices_version
        if version is None:
            return
        for notice in notice_rows.unsettled(session, case.id):
            if notice.measure_version == version:
                timers.stop_notice(session, notice.id)
        superseded = (*case.details.superseded_notices, version)
        case.details = case.details.model_copy(update={"superseded_notices": superseded})

    # --- rules ---

    def _validate_plan(self, case: Case, plan: dict[str, Any], measure: str) -> None:
        today = today_in(self.workspace.timezone, self.clock())
        if date.fromisoformat(str(plan["target_date"])) < today:
            raise UserError("measure.past_date", field="target_date")
        if plan.get("partner_by") and date.fromisoformat(str(plan["partner_by"])) < today:
            raise UserError("measure.past_date.partners", field="partner_by")
        if needs_art73_6_warning(case.details, measure) and not plan.get("art73_6"):
            raise UserError("measure.art73_6.required", field="art73_6")

    @staticmethod
    def _warning(case: Case, plan: dict[str, Any], user_id: str) -> Art73Warning | None:
        """Art. 73(6): the warning was shown, and this person went on."""
        if needs_art73_6_warning(case.details, str(plan["measure"])):
            return Art73Warning(continued_by=user_id)
        return None

    def _may(
        self, case: Case, change: Change, user_id: str, team_id: str | None
    ) -> CaseState | None:
        measure = case.measure
        facts = CaseFacts(
            state=CaseState(case.state),
            reporter_id=case.reporter_id,
            owner_id=case.owner_id,
            measure_proposer_id=measure.proposer_id if measure else None,
            measure_owner_id=measure.owner_id if measure else None,
        )
        refused = decide_change(facts, change, self.people.actor(user_id, team_id))
        if refused is not None:
            params = dict(refused.params)
            if "change" in params:
                params["change"] = t(f"change.{change.value}", self.workspace.language)
                params["state"] = t(f"state.{case.state}", self.workspace.language)
            raise UserError(refused.key, params)
        return CHANGES[change].target

    def _case(self, session: Session, number: int, *, lock: bool = False) -> Case:
        case = case_rows.by_number(session, number, lock=lock)
        if case is None:
            raise UserError("case.unknown", {"ref": f"NC-{number}"})
        bind_case(case.id)
        return case


def change_line(
    kind: str, case: CaseRecord, actor: str, lang: str, data: dict[str, Any], workspace: Workspace
) -> str:
    """The one line the thread keeps for a change: who, what, from what to what, and why."""
    params: dict[str, object] = {
        "who": user(actor, lang),
        "reason": step_views.safe_reason(str(data.get("reason", ""))),
        "ref": case.ref,
    }
    if kind == SEVERITY_CHANGED:
        params["before"] = t(f"severity.{data['from']}", lang)
        params["after"] = t(f"severity.{data['to']}", lang)
        params["policy"] = policy_sentence(workspace, case, str(data["to"]), lang)
    elif kind == OWNER_REASSIGNED:
        kind = f"{kind}.{data['whose']}"
        params["before"] = user(data.get("from"), lang)
        params["after"] = user(str(data["to"]), lang)
    elif kind == TARGET_DATE_CHANGED:
        params["before"] = str(data["from"])
        params["after"] = str(data["to"])
    elif kind in (MEASURE_AMENDED, MEASURE_ADDED):
        params["measure"] = t(f"measure.{data['measure']}", lang)
        params["owner"] = user(str(data["owner"]), lang)
        params["target"] = str(data["target_date"])
    line = t(f"change.line.{kind}", lang, **params)
    if data.get("art73_6"):
        line += " " + t("timeline.art73_6", lang, who=user(actor, lang))
    return line


def policy_sentence(workspace: Workspace, case: CaseRecord, severity: str, lang: str) -> str:
    """Which escalation policy applies now that the severity changed, and from when."""
    policies = workspace.escalation.policies
    name = severity if severity in policies else "default" if "default" in policies else None
    if name is None:
        return t("change.policy.none", lang)
    if case.state != CaseState.REPORTED:
        return t("change.policy.acknowledged", lang, policy=name)
    levels = ", ".join(format_duration(level.offset) for level in policies[name].levels)
    return t("change.policy.running", lang, policy=name, levels=levels)


def shown(case: CaseRecord, change: Change) -> str:
    """What a change's modal shows as it stands, carried in its metadata: severity, owners, the
    target dates (amending and adding move the case's version, which says enough)."""
    measures = case.measures_in_force
    if change is Change.SEVERITY:
        return case.severity
    if change is Change.REASSIGN:
        return "|".join([case.owner_id or "", *(m.owner for m in measures)])
    if change is Change.TARGET_DATE:
        return "|".join(m.target_date.isoformat() for m in measures)
    return ""


def open_measures(case: CaseRecord) -> list[tuple[int, CorrectiveMeasure]]:
    """The measures a change of owner or date can be about, with their positions: those in
    force and not yet carried out (the newest when all are)."""
    in_force = [(i, m) for i, m in enumerate(case.measures, start=1) if m in case.measures_in_force]
    open_ = [(i, m) for i, m in in_force if m.done is None]
    return open_ or in_force[-1:]


def _open_measure(case: Case, position: str | None) -> MeasureRow:
    """The measure a change is about: the one chosen in the modal where several are open,
    else the newest in force."""
    rows = {str(row.position): row for row in case.measures}
    chosen = [str(i) for i, _ in open_measures(case.record())]
    if position is None:
        if not chosen:  # the roles table offers these changes only with a measure
            raise UserError("change.reassign.no_measure", field="measure")
        return rows[chosen[-1]]
    if position not in chosen:
        raise UserError("change.measure.unknown", field="measure")
    return rows[position]
