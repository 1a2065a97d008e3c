"""Article 20(1)'s duty of information: one notice per affected partner, with proof of receipt.

Notices are rows committed in the same transaction as the approval, each with its outbox
message; the outbox sends each exactly once. A click on "Acknowledge receipt" counts only in
the channel the notice was sent to, and only from the partner: a user of its workspace (its
``team``) or one of its listed contacts. For a partner without ``team``, a user of another
workspace counts only when the channel is shared with exactly one other organisation (Slack's
``conversations.info`` says which) and the user belongs to it. Other clicks in the notice's
channel are recorded but prove nothing; a click from any other channel is refused.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot.audit import trail as audit
from bot.cases import panels
from bot.cases.state import CaseRecord
from bot.cases.workflow import Role
from bot.clock import Clock
from bot.delivery import messages
from bot.duties.service import refuse_if_stale
from bot.errors import UserError
from bot.ops.identity import user_homes
from bot.ops.people import People, other_organisations
from bot.ops.request_context import bind_case
from bot.ops.workspace import PartnerRole, Workspace
from bot.timers import engine as timers
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import notices as rows
from storage import outbox
from storage.db import Database
from storage.models import Case, Partner, PartnerNotice

log = logging.getLogger("ncbot.notices")

INFORMED_ROLES = (
    PartnerRole.DISTRIBUTOR,
    PartnerRole.DEPLOYER,
    PartnerRole.IMPORTER,
    PartnerRole.AUTHORISED_REPRESENTATIVE,
)


@dataclass(frozen=True)
class Receipt:
    """What a click on "Acknowledge receipt" did: counted, recorded as staff, or already done."""

    outcome: str  # "counted" | "staff" | "already" | "gone" | "revoked"
    notice: PartnerNotice
    case: CaseRecord
    partner_name: str
    external: bool = False  # the click came from another workspace (Slack Connect)


def queue_for_approval(session: Session, case: Case, workspace: Workspace, now: datetime) -> None:
    """Inside the approval's transaction: a notice and its outbox message per affected partner."""
    partners = [
        partner
        for partner in catalogue_rows.partners_of(session, case.system_id)
        if partner.role in INFORMED_ROLES
    ]
    for partner in partners:
        reachable = bool(partner.channel or partner.emails)
        notice = PartnerNotice(
            case_id=case.id,
            partner_id=partner.id,
            measure_version=case.version,
            role=partner.role,
            channel=partner.channel or "",
            language=partner.language,
            status=rows.QUEUED if reachable else rows.FAILED,
            failure=None if reachable else "no_channel",
            staff_clicks=[],
            created_at=now,
        )
        session.add(notice)
        session.flush()
        if partner.channel:
            messages.queue(
                session,
                messages.partner_notice(case, notice, partner.channel, workspace.provider),
                now,
            )
        for address in partner.emails or []:  # one e-mail, and one receipt link, per address
            messages.queue(
                session, messages.email_notice(case, notice, address, workspace.provider), now
            )
    case.details = case.details.model_copy(update={"notices_version": case.version})
    panels.open_panel(session, case, "notices", now)
    audit.record(
        session,
        case,
        "notices_queued",
        actor=None,
        at=now,
        data={"partners": [_queued(p) for p in partners]},
    )


def _queued(partner: Partner) -> dict[str, Any]:
    """A partner as ``notices_queued`` records it: how many addresses it is e-mailed at (the
    addresses stay in the outbox and the receipts) only when it has any."""
    entry: dict[str, Any] = {"id": partner.id, "role": partner.role, "channel": partner.channel}
    if partner.emails:
        entry["emails"] = len(partner.emails)
    return entry


def addressed(partner: Partner, address: str) -> bool:
    """Whether ``address`` is still one of the partner's in the catalogue: a receipt link
    speaks for the partner only while its address does (one removed from the workspace file
    may belong to someone who left)."""
    return address.lower() in {a.lower() for a in partner.emails or []}


def refresh_table(session: Session, case: Case, now: datetime, reason: str) -> None:
    """Queue an update of the thread's notice table and of the case card (they count notices)."""
    panels.refresh(session, case, "notices", now, reason)
    messages.queue(session, messages.card_refresh(case, reason), now)


class Notices:
    def __init__(
        self,
        db: Database,
        workspace: Workspace,
        clock: Clock,
        people: People,
        client: WebClient | None = None,
    ) -> None:
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.people = people
        self.client = client  # asks Slack who shares a partner channel

    def acknowledge(
        self, notice_id: int, user_id: str, team_id: str | None, channel_id: str | None
    ) -> Receipt:
        """Refused (nothing recorded) unless clicked in the channel the notice was sent to."""
        external = self.people.is_external(team_id)
        sharing = self._sharing(notice_id, channel_id, user_id) if external else None
        homes = self._homes(notice_id, user_id, team_id, sharing) if external else frozenset()
        now = self.clock()
        with self.db.transaction() as session:
            notice, case, partner = self._load(session, notice_id)
            if not notice.channel or channel_id != notice.channel:
                log.warning(
                    "receipt refused: clicked outside the notice's channel",
                    extra={"notice": notice.id, "channel": channel_id},
                )
                raise UserError("notice.ack.wrong_channel", {"partner": partner.name})
            if notice.status == rows.ACKNOWLEDGED:
                return Receipt("already", notice, case.record(), partner.name)
            if partner.team_id is not None:
                theirs = partner.team_id in homes
            else:  # only the one other organisation in the channel speaks for the partner
                theirs = sharing is not None and len(sharing) == 1 and bool(homes & sharing)
            counted = (external and theirs) or user_id in (partner.contacts or [])
            click = {"user": user_id, "team": team_id, "at": now.isoformat(), "counted": counted}
            if not counted:
                notice.staff_clicks = [*notice.staff_clicks, click]
                audit.record(
                    session,
                    case,
                    "notice_click_other_workspace" if external else "notice_click_by_staff",
                    actor=user_id,
                    at=now,
                    data={"notice": notice.id, "partner": partner.id, **click},
                )
                return Receipt("staff", notice, case.record(), partner.name, external)
            notice.status = rows.ACKNOWLEDGED
            notice.ack_by, notice.ack_team, notice.ack_at = user_id, team_id, now
            audit.record(
                session,
                case,
                "notice_acknowledged",
                actor=user_id,
                at=now,
                data={
                    "notice": notice.id,
                    "partner": partner.id,
                    "team": team_id,
                    "external": external,
                },
            )
            timers.stop_notice(session, notice.id)
            messages.queue(
                session, messages.notice_refresh(case, notice, "ack", self.workspace.provider), now
            )
            refresh_table(session, case, now, f"ack{notice.id}")
            return Receipt("counted", notice, case.record(), partner.name)

    def acknowledge_by_link(self, notice_id: int, address: str) -> Receipt:
        """A press on the receipt page of an e-mail (its link verified by the caller): the
        receipt, by that address, at this moment. "already" when the notice was settled before
        (from any address, the channel, or by hand); "gone" when it was waived meanwhile. A
        notice marked failed (another address refused) is settled by it all the same.
        "revoked" when the address is no longer one of the partner's: nothing is recorded."""
        now = self.clock()
        with self.db.transaction() as session:
            notice, case, partner = self._load(session, notice_id)
            if not addressed(partner, address):
                log.warning(
                    "receipt link refused: the address left the catalogue",
                    extra={"notice": notice.id},
                )
                return Receipt("revoked", notice, case.record(), partner.name)
            if notice.status == rows.ACKNOWLEDGED:
                return Receipt("already", notice, case.record(), partner.name)
            if notice.status == rows.WAIVED:
                return Receipt("gone", notice, case.record(), partner.name)
            self._settle(
                session,
                case,
                notice,
                now,
                ack_by=None,
                receipt={"via": "email", "address": address},
            )
            audit.record(
                session,
                case,
                "notice_receipt_by_link",
                actor=None,
                at=now,
                data={"notice": notice.id, "partner": partner.id, "address": address},
            )
            return Receipt("counted", notice, case.record(), partner.name)

    def record_receipt(
        self,
        number: int,
        version: int,
        notice_id: int,
        user_id: str,
        team_id: str | None,
        *,
        received_by: str,
        how: str,
        on: datetime,
    ) -> str:
        """Triage records by hand a receipt that came another way (who, how, when): where
        there is no public URL for links, or a partner answered by phone or letter."""
        self.people.require(user_id, team_id, Role.TRIAGE)
        now = self.clock()
        if on > now:
            raise UserError("record.when.invalid")
        with self.db.transaction() as session:
            notice, case, partner = self._load(session, notice_id)
            if case.number != number:
                raise UserError("notice.unknown")
            refuse_if_stale(case, version, self.workspace.language)
            if notice.status in rows.SETTLED:
                raise UserError("waive.nothing", {"ref": case.ref})
            # Nothing can be received before it went out (or, never sent, was written).
            went_out = notice.sent_at or notice.created_at
            if on < went_out:
                local = went_out.astimezone(ZoneInfo(self.workspace.timezone))
                when = local.strftime("%Y-%m-%d %H:%M")
                raise UserError("record.when.before_sent", {"when": when}, field="at")
            receipt = {"via": "recorded", "who": received_by, "how": how, "at": on.isoformat()}
            self._settle(session, case, notice, on, ack_by=user_id, receipt=receipt)
            audit.record(
                session,
                case,
                "notice_receipt_recorded",
                actor=user_id,
                at=now,
                data={
                    "notice": notice.id,
                    "partner": partner.id,
                    "received_by": received_by,
                    "how": how,
                    "on": on.isoformat(),
                },
            )
            return partner.name

    def _settle(
        self,
        session: Session,
        case: Case,
        notice: PartnerNotice,
        at: datetime,
        *,
        ack_by: str | None,
        receipt: dict[str, Any],
    ) -> None:
        """A receipt that came outside a Slack click settles the notice as a click does: the
        reminder stops, the partner's channel post (if any), the table and the card change."""
        notice.status, notice.ack_by, notice.ack_at, notice.receipt = (
            rows.ACKNOWLEDGED,
            ack_by,
            at,
            receipt,
        )
        now = self.clock()
        timers.stop_notice(session, notice.id)
        if notice.slack_ts:
            messages.queue(
                session,
                messages.notice_refresh(case, notice, "ack", self.workspace.provider),
                now,
            )
        refresh_table(session, case, now, f"ack{notice.id}")

    def waive(
        self,
        number: int,
        version: int,
        notice_id: int,
        user_id: str,
        team_id: str | None,
        reason: str,
    ) -> str:
        """Approvers may waive a notice with a reason (informed another way, or need not be);
        ``version``: the case version the modal was opened at."""
        self.people.require(user_id, team_id, Role.APPROVERS)
        now = self.clock()
        with self.db.transaction() as session:
            notice, case, partner = self._load(session, notice_id)
            if case.number != number:
                raise UserError("notice.unknown")
            refuse_if_stale(case, version, self.workspace.language)
            if notice.status in rows.SETTLED:
                raise UserError("waive.nothing", {"ref": case.ref})
            notice.status = rows.WAIVED
            notice.waived_by, notice.waived_reason, notice.waived_at = user_id, reason, now
            audit.record(
                session,
                case,
                "notice_waived",
                actor=user_id,
                at=now,
                data={"notice": notice.id, "partner": partner.id, "reason": reason},
            )
            timers.stop_notice(session, notice.id)
            refresh_table(session, case, now, f"waive{notice.id}")
            return partner.name

    def retry(self, notice_id: int, user_id: str, team_id: str | None) -> tuple[int, str]:
        """Send a failed notice again once someone fixed the cause (e.g. invited the bot)."""
        self.people.require(user_id, team_id, Role.TRIAGE, Role.APPROVERS)
        now = self.clock()
        with self.db.transaction() as session:
            notice, case, partner = self._load(session, notice_id)
            if notice.status != rows.FAILED:
                return case.id, partner.name
            if not partner.channel and not partner.emails:
                raise UserError(
                    "notice.fix.no_channel", {"channel": "—", "bot": "@nonconformity-bot"}
                )
            if not self._send_again(session, case, notice, partner, now):
                # Nothing failed that the catalogue still names, and nothing is on its way:
                # a QUEUED notice would wait for ever. It stays failed; the answer says why.
                raise UserError("notice.retry.nothing", {"partner": partner.name})
            notice.status, notice.failure = rows.QUEUED, None
            audit.record(
                session,
                case,
                "notice_retry",
                actor=user_id,
                at=now,
                data={"notice": notice.id, "partner": partner.id},
            )
            refresh_table(session, case, now, f"retry{notice.id}:{now.timestamp()}")
            return case.id, partner.name

    def _send_again(
        self, session: Session, case: Case, notice: PartnerNotice, partner: Partner, now: datetime
    ) -> int:
        """Queue again what failed for the partner as the catalogue now names it; returns how
        many messages are on their way. A message never tried (its channel or address added to
        the workspace file since) is queued now; one refused is requeued, the first e-mail and
        reminders alike; one already accepted is not sent twice; one for an address no longer
        in the catalogue stays as it was."""
        provider = self.workspace.provider
        pending = 0
        if partner.channel:
            posted = outbox.by_key(session, messages.notice_key(notice.id))
            if posted is None:
                notice.channel = partner.channel
                messages.queue(
                    session, messages.partner_notice(case, notice, partner.channel, provider), now
                )
                pending += 1
            elif posted.status == outbox.FAILED:
                notice.channel = partner.channel
                outbox.requeue(session, posted.dedupe_key, now=now, target=partner.channel)
                pending += 1
            elif posted.status == outbox.PENDING:
                pending += 1
        addresses = {address.lower() for address in partner.emails or []}
        for row in messages.notice_emails(session, notice):
            if row.target.lower() not in addresses:
                continue
            status = row.status
            if status == outbox.FAILED:
                outbox.requeue_failed(session, row.dedupe_key, now=now)
            pending += status in (outbox.FAILED, outbox.PENDING)
        for address in partner.emails or []:
            if outbox.by_key(session, messages.email_key(notice.id, address)) is None:
                messages.queue(session, messages.email_notice(case, notice, address, provider), now)
                pending += 1
        return pending

    def waivable(self, number: int) -> tuple[CaseRecord, list[tuple[int, str]]]:
        with self.db.transaction() as session:
            case = case_rows.by_number(session, number)
            if case is None:
                raise UserError("case.unknown", {"ref": f"NC-{number}"})
            options = []
            for notice in rows.unsettled(session, case.id):
                partner = catalogue_rows.partner(session, notice.partner_id)
                options.append((notice.id, partner.name if partner else notice.partner_id))
            return case.record(), options

    def check_recorder(self, user_id: str, team_id: str | None) -> None:
        self.people.require(user_id, team_id, Role.TRIAGE)

    def moment(self, on: date | None, at: str) -> datetime | None:
        """A date and an "HH:MM" where the organisation works, in UTC; None when it is not a
        moment or lies in the future."""
        try:
            hour, minute = (int(part) for part in at.split(":"))
            local = datetime.combine(on or date.min, time(hour, minute))
        except (ValueError, AttributeError):
            return None
        if on is None:
            return None
        moment = local.replace(tzinfo=ZoneInfo(self.workspace.timezone)).astimezone(UTC)
        return None if moment > self.clock() else moment

    def check_waiver(self, user_id: str, team_id: str | None) -> None:
        self.people.require(user_id, team_id, Role.APPROVERS)

    def _sharing(
        self, notice_id: int, channel_id: str | None, user_id: str
    ) -> frozenset[str] | None:
        """The other organisations sharing the notice's channel, when that can decide the
        click: the partner names no ``team``, the user is not a listed contact, and the notice
        is not acknowledged yet (else None, and Slack is not asked)."""
        with self.db.read() as session:
            notice = rows.by_id(session, notice_id)
            partner = catalogue_rows.partner(session, notice.partner_id) if notice else None
            if notice is None or partner is None or partner.team_id is not None:
                return None
            if notice.status == rows.ACKNOWLEDGED or user_id in (partner.contacts or []):
                return None
            if not channel_id or channel_id != notice.channel or self.client is None:
                return None
        try:
            info = self.client.conversations_info(channel=channel_id)["channel"]
        except (SlackApiError, OSError) as exc:
            log.warning(
                "receipt: cannot tell who shares the channel; only contacts count",
                extra={"notice": notice_id, "error": type(exc).__name__},
            )
            return None
        return other_organisations(info, self.people.installation)

    def _homes(
        self, notice_id: int, user_id: str, team_id: str | None, sharing: frozenset[str] | None
    ) -> frozenset[str]:
        """Every id of an external clicker's home. The payload names one (on Grid, the
        organisation ``E…``); the catalogue or ``conversations.info`` may name the other (a
        workspace ``T…``): then ``users.info`` says both (``enterprise_user``), asked only
        when the one id does not already decide."""
        known = frozenset({team_id} if team_id else ())
        with self.db.read() as session:
            notice = rows.by_id(session, notice_id)
            partner = catalogue_rows.partner(session, notice.partner_id) if notice else None
            if notice is None or partner is None or notice.status == rows.ACKNOWLEDGED:
                return known
            wanted = {partner.team_id} if partner.team_id else set(sharing or ())
        # the same kind of id (two workspaces, two organisations) that differs decides alone
        other_kind = {w for w in wanted if not any(w[:1] == k[:1] for k in known)}
        if not other_kind or known & wanted or self.client is None:
            return known
        try:
            user = self.client.users_info(user=user_id)["user"]
        except (SlackApiError, OSError) as exc:
            log.warning(
                "receipt: cannot tell the clicker's workspaces; only the one Slack sent counts",
                extra={"notice": notice_id, "error": type(exc).__name__},
            )
            return known
        return known | user_homes(user) if isinstance(user, dict) else known

    def _load(self, session: Session, notice_id: int) -> tuple[PartnerNotice, Case, Partner]:
        notice = rows.by_id(session, notice_id)
        if notice is None:
            raise UserError("notice.unknown")
        case = case_rows.by_id(session, notice.case_id, lock=True)  # audit appends under it
        bind_case(notice.case_id)
        notice = rows.by_id(session, notice_id, lock=True)
        partner = catalogue_rows.partner(session, notice.partner_id) if notice else None
        if notice is None or case is None or partner is None:
            raise UserError("notice.unknown", lang=notice.language if notice else None)
        return notice, case, partner
