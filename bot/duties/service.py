"""The duties that follow a confirmed risk or a serious incident: Art. 20(2) and Art. 73.

When the assessment says the system presents a risk (Art. 79(1)), the provider must investigate
the causes (with the reporting deployer, where there is one) and inform the market surveillance
authority and, where a certificate exists, the notified body. A serious incident must be reported
to the authority within Art. 73's deadline, initially and then completely (73(5)). Each duty is a
button in the thread; each recording is an audit event; Close waits for all that apply.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.audit import trail as audit
from bot.cases import panels
from bot.cases import state as case_state
from bot.cases.state import (
    Art73,
    CaseRecord,
    DutyRecord,
    IncidentAuthority,
    PartnerRef,
    ProviderRef,
)
from bot.cases.workflow import CaseState, Role
from bot.clock import Clock, today_in
from bot.delivery import messages, render
from bot.duties import views as duty_views
from bot.duties.deadlines import due_moment, is_serious
from bot.duties.views import AuthorityMessage
from bot.errors import UserError
from bot.messages import t
from bot.ops.identity import Installation
from bot.ops.people import People
from bot.ops.request_context import bind_case
from bot.ops.workspace import Catalogue, PartnerRole, Workspace
from bot.timers import engine as timers
from bot.views.text import safe
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import outbox as outbox_rows
from storage.db import Database
from storage.models import Case

log = logging.getLogger("ncbot.duties")

INVESTIGATE = case_state.INVESTIGATE
INFORM_AUTHORITY = case_state.INFORM_AUTHORITY
INFORM_NOTIFIED_BODY = case_state.INFORM_NOTIFIED_BODY
INITIAL_REPORT = case_state.INITIAL_REPORT
COMPLETE_REPORT = case_state.COMPLETE_REPORT
ORDER = case_state.DUTY_ORDER
CLOSED_STATES = (CaseState.CLOSED.value, CaseState.DISMISSED.value)
required = case_state.required_duties
authority_names = render.authority_names


def _incident_authorities(case: Case, catalogue: Catalogue) -> tuple[IncidentAuthority, ...]:
    found = case.details.assessment
    if found is None or not is_serious(found.serious_incident):
        return ()
    return tuple(
        IncidentAuthority(member_state=state, authority=authority)
        for state, authority in catalogue.incident_authorities(case.system_id, found.member_states)
    )


def on_assessment(
    session: Session,
    case: Case,
    workspace: Workspace,
    now: datetime,
    ours: Installation | None = None,
) -> None:
    """Inside the Confirm transaction: fix who must be informed, start the Art. 73 clock, open
    the duties panel, and invite the reporting deployer to investigate."""
    catalogue = workspace.catalogue
    deployer = reporting_deployer(session, case, ours or Installation())
    case.details = case.details.model_copy(
        update={
            "authority": catalogue.authority_for(case.system_id),
            "notified_body": catalogue.notified_body_for(case.system_id),
            "reporting_deployer": deployer,
            "incident_authorities": _incident_authorities(case, catalogue),
        }
    )
    if not required(case.details):
        return
    deadline = case.details.art73()
    if deadline is not None:
        timers.start_deadline(
            session,
            case,
            workspace,
            due_moment(deadline.category, deadline.aware_on, workspace.timezone),
            now,
        )
    panels.open_panel(session, case, "duties", now)
    if deployer and deployer.channel and INVESTIGATE in required(case.details):
        text, blocks = duty_views.investigation_invite(
            case.record(),
            deployer.name,
            catalogue_rows.system_name(session, case.system_id),
            workspace.language,
        )
        key = f"investigate-invite:{case.id}:{case.version}"
        invite = messages.channel_post(
            deployer.channel, key, text, case_id=case.id, blocks=blocks, step="investigate_invite"
        )
        messages.queue(session, invite, now)


def reporting_deployer(session: Session, case: Case, ours: Installation) -> PartnerRef | None:
    """The deployer the report came from: one whose contacts include the reporter, or, for a
    reporter of another organisation (not our workspace, not our Grid organisation), the
    system's only deployer."""
    deployers = [
        p
        for p in catalogue_rows.partners_of(session, case.system_id)
        if p.role == PartnerRole.DEPLOYER
    ]
    found = [p for p in deployers if case.reporter_id in (p.contacts or [])]
    external = not ours.owns(case.reporter_team)
    if not found and external and len(deployers) == 1:
        found = deployers
    if not found:
        return None
    partner = found[0]
    return PartnerRef(id=partner.id, name=partner.name, channel=partner.channel)


def refuse_if_stale(case: Case, version: int, language: str, *, unchanged: bool = True) -> None:
    """A modal carries the case version it was opened at; once a step moved the case on (or,
    with ``unchanged`` False, the value it corrects changed), its submission — or a replay of
    it — is refused as a stale click is."""
    if case.version != version or not unchanged:
        log.warning(
            "submission refused: opened at an earlier version of the case",
            extra={"case": case.ref, "version": version, "now": case.version},
        )
        state = t(f"state.{case.state}", language)
        raise UserError("refusal.stale", {"ref": case.ref, "state": state})


class Duties:
    def __init__(
        self,
        db: Database,
        workspace: Workspace,
        clock: Clock,
        people: People,
        *,
        email: bool = False,
    ) -> None:
        self.email = email  # the relay is set up: an authority without a channel is e-mailed
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.people = people

    def check(self, number: int, duty: str, user_id: str, team_id: str | None) -> CaseRecord:
        with self.db.read() as session:
            case = self._case(session, number)
            self._may(case, duty, user_id, team_id)
            return case.record()

    def message_for(self, case: CaseRecord, duty: str) -> AuthorityMessage | None:
        """What "Send it now" would post for this duty, exactly; None where the authority has
        no Slack channel (then people inform it another way and record how)."""
        if duty not in duty_views.INFORM_DUTIES:
            return None
        with self.db.read() as session:
            return self._authority_message(session, case, duty)

    def record(
        self,
        number: int,
        version: int,
        duty: str,
        user_id: str,
        team_id: str | None,
        data: dict[str, Any],
        shown: str = "",
    ) -> CaseRecord:
        """Record a duty. Informing an authority is a choice: ``data["choice"]`` "send" posts
        the message the modal showed (``shown`` is its digest: a changed text is refused, not
        sent), "other" records how and when it was done another way and sends nothing."""
        now = self.clock()
        with self.db.transaction() as session:
            case = self._case(session, number, lock=True)
            self._may(case, duty, user_id, team_id)
            refuse_if_stale(case, version, self.workspace.language)
            today = today_in(self.workspace.timezone, now)
            if data.get("on") and date.fromisoformat(str(data["on"])) > today:
                raise UserError("duty.on.future", field="on")
            sent: AuthorityMessage | None = None
            if data.get("choice") == duty_views.SEND:
                sent = self._authority_message(session, case.record(), duty)
                if sent is None:
                    raise UserError("duty.send.no_channel", field="choice")
                if sent.digest != shown:
                    raise UserError("duty.send.changed", field="choice")
                if sent.emails:  # recorded when the relay accepts it (``Senders``)
                    self._email(session, case, duty, sent, user_id, now)
                    return case.record()
                how = t("duty.sent.how", case.language, authority=sent.name)
                data = {"choice": duty_views.SEND, "on": today.isoformat(), "how": how}
            state = {k: v for k, v in data.items() if k != "choice"}
            recorded = DutyRecord.model_validate(
                {**state, "by": user_id, "at": now, "sent_to": sent.channel if sent else None}
            )
            case.details = case.details.with_duty(duty, recorded)
            case.updated_at = now
            event = dict(data)
            if sent is not None:  # what was sent, verbatim
                event["message"] = {
                    "channel": sent.channel,
                    "text": sent.text,
                    "blocks": sent.blocks,
                }
            audit.record(session, case, f"duty_{duty}", actor=user_id, at=now, data=event)
            if duty == INITIAL_REPORT:
                timers.stop_deadline(session, case.id)
            panels.refresh(session, case, "duties", now, duty)
            messages.queue(session, messages.card_refresh(case, f"duty:{duty}"), now)
            if sent is not None:
                key = f"authority:{case.id}:{duty}:{case.version}"
                post = messages.channel_post(
                    sent.channel, key, sent.text, case_id=case.id, blocks=sent.blocks, step=duty
                )
                messages.queue(session, post, now)
            return case.record()

    def _email(
        self,
        session: Session,
        case: Case,
        duty: str,
        sent: AuthorityMessage,
        user_id: str,
        now: datetime,
    ) -> None:
        """Owe the authority the message by e-mail at each address (again only where an earlier
        attempt failed: a double click or a second Send adds nothing), and say so in the
        thread."""
        content = duty_views.authority_email(
            sent,
            case.ref,
            self._authority_language(session, case, duty),
            self.provider(case.record()),
        )
        for address in sent.emails:
            key = messages.authority_email_key(case.id, duty, address)
            outbox_rows.requeue_failed(session, key, now=now)
            message = messages.email_authority(
                case, duty, address, {**content, "authority_name": sent.name}, user_id
            )
            messages.queue(session, message, now)
        line = t(
            "duty.email.sending",
            case.language,
            authority=safe(sent.name, 150),
            addresses=", ".join(sent.emails),
        )
        key = f"duty-email:{case.id}:{duty}:{now.timestamp()}"
        messages.queue(session, messages.thread_line(case, key, line, step=duty), now)

    def _authority_language(self, session: Session, case: Case, duty: str) -> str:
        details = case.details
        partner_id = details.authority if duty == INFORM_AUTHORITY else details.notified_body
        partner = catalogue_rows.partner(session, partner_id) if partner_id else None
        return (partner.language if partner else None) or "en"

    def correct_awareness(
        self,
        number: int,
        shown: tuple[int, date | None],
        user_id: str,
        team_id: str | None,
        aware_on: date,
        reason: str,
    ) -> CaseRecord:
        """The provider learns it knew earlier (or later): the deadline moves, and so do the
        reminders; the correction and its reason are on the record.

        ``shown``: the case version and the awareness date the modal was opened with. A
        correction does not move the case's version, so the date is compared too: a submission
        opened before another correction (a replay included) is refused as stale."""
        now = self.clock()
        with self.db.transaction() as session:
            case = self._case(session, number, lock=True)
            self._may(case, INITIAL_REPORT, user_id, team_id, allow_done=True)
            before = case.details.art73()
            if before is None:
                raise UserError("duty.not_applicable")
            version, shown_aware_on = shown
            refuse_if_stale(
                case, version, self.workspace.language, unchanged=shown_aware_on == before.aware_on
            )
            if aware_on > today_in(self.workspace.timezone, now):
                raise UserError("assess.aware.future", field="aware_on")
            case.details = case.details.model_copy(update={"aware_on": aware_on})
            after = case.details.art73()
            assert after is not None
            audit.record(
                session,
                case,
                "awareness_corrected",
                actor=user_id,
                at=now,
                data={
                    "from": before.aware_on.isoformat(),
                    "to": aware_on.isoformat(),
                    "deadline_from": before.due.isoformat(),
                    "deadline_to": after.due.isoformat(),
                    "reason": reason,
                },
            )
            timers.stop_deadline(session, case.id)
            if INITIAL_REPORT not in case.details.duties:
                moment = due_moment(after.category, after.aware_on, self.workspace.timezone)
                timers.start_deadline(
                    session, case, self.workspace, moment, now, key_suffix=now.isoformat()
                )
            panels.refresh(session, case, "duties", now, f"aware:{now.isoformat()}")
            messages.queue(session, messages.card_refresh(case, f"aware:{now.isoformat()}"), now)
            return case.record()

    def deadline_of(self, case: CaseRecord) -> Art73 | None:
        return case.details.art73()

    def provider(self, case: CaseRecord) -> ProviderRef:
        return render.provider_of(case, self.workspace.provider)

    def _authority_message(
        self, session: Session, case: CaseRecord, duty: str
    ) -> AuthorityMessage | None:
        """An authority that is a catalogue partner with a Slack channel can be sent the
        message there, in its language."""
        details = case.details
        partner_id = details.authority if duty == INFORM_AUTHORITY else details.notified_body
        partner = catalogue_rows.partner(session, partner_id) if partner_id else None
        if partner is None:
            return None
        emails: tuple[str, ...] = ()
        if not partner.channel:
            if not (partner.emails and self.email):
                return None
            emails = tuple(partner.emails)  # no channel: "Send it now" e-mails it
        return duty_views.authority_notice(
            case,
            partner.channel or "",
            partner.name,
            catalogue_rows.system_name(session, case.system_id),
            partner.language or "en",
            self.provider(case),
            emails,
        )

    def _case(self, session: Session, number: int, *, lock: bool = False) -> Case:
        case = case_rows.by_number(session, number, lock=lock)
        if case is None:
            raise UserError("case.unknown", {"ref": f"NC-{number}"})
        bind_case(case.id)
        return case

    def _may(
        self, case: Case, duty: str, user_id: str, team_id: str | None, *, allow_done: bool = False
    ) -> None:
        self.people.require(
            user_id, team_id, Role.TRIAGE, Role.APPROVERS, also=case.owner_id, action=duty
        )
        if case.state in CLOSED_STATES:
            raise UserError("duty.closed", {"ref": case.ref})
        if duty not in required(case.details):
            raise UserError("duty.not_applicable")
        recorded = case.details.duties.get(duty)
        if recorded and not allow_done:
            raise UserError("duty.already", {"who": f"<@{recorded.by}>", "ref": case.ref})
        if duty == COMPLETE_REPORT and INITIAL_REPORT not in case.details.duties:
            raise UserError("duty.initial_first")
