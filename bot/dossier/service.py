"""A case's dossier: everything an authority (Art. 21) or an auditor needs, read in one snapshot.

The dossier is an export model (``bot.dossier_export``, versioned, with its generated JSON Schema
in ``bot/resources/dossier.schema.json``) built from the case's typed state; JSON is that model
dumped, and Markdown and PDF are renderings of that same JSON, so the three formats can
never disagree. Building it only reads (``db.read()``): an export changes nothing, not even the
audit trail, so the chain it reports on is the chain that is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.audit.chain import GENESIS
from bot.audit.trail import verify_case
from bot.cases.state import CaseRecord, ProviderRef
from bot.clock import Clock
from bot.dossier import export
from bot.dossier.export import SCHEMA_VERSION
from bot.dossier.export import DossierJSON as Dossier
from bot.dossier.formats import filename, render
from bot.duties import service as duties
from bot.errors import UserError
from bot.messages import t
from bot.ops.workspace import Workspace
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import notices as notice_rows
from storage.db import Database
from storage.events import events_of
from storage.models import Case, CaseEvent, PartnerNotice

ESCALATION_KINDS = ("escalated", "reminded")
HASH_ALGORITHM = "sha256(prev_hash + '\\n' + canonical_json(payload))"


def load(
    db: Database, number: int, *, now: datetime, provider: ProviderRef | None = None
) -> Dossier:
    """The dossier of NC-``number``; a missing case is the user's error, not a traceback.
    ``provider`` names the provider of a case reported before the workspace file named one."""
    with db.read() as session:
        case = case_rows.by_number(session, number)
        if case is None:
            raise UserError("case.unknown", {"ref": f"NC-{number}"})
        return build(session, case, now=now, provider=provider).model_dump(mode="json")


def build(
    session: Session, row: Case, *, now: datetime, provider: ProviderRef | None = None
) -> export.Dossier:
    case = row.record()
    named = case.details.provider or provider
    events = list(events_of(session, case.id))
    system = catalogue_rows.system(session, case.system_id)
    reported = next((e for e in events if e.kind == "reported"), None)
    current = case.measure
    return export.Dossier(
        schema_version=SCHEMA_VERSION,
        generated_at=now,
        provider=export.Provider.model_validate(named.model_dump()) if named else None,
        case=_case(case),
        system=export.SystemSummary(
            id=case.system_id,
            name=system.name if system else case.system_id,
            version=case.system_version,
        ),
        report=_report(reported),
        assessment=export.assessment(case.details.assessment),
        dismissal=export.reasoned(case.details.dismissal),
        measure=export.measure(current) if current else None,
        earlier_measures=[export.measure(m) for m in case.earlier_measures],
        reopenings=[r for r in map(export.reasoned, case.details.reopenings) if r is not None],
        partner_notices=_notices(session, notice_rows.of_case(session, case.id)),
        authorities=_authorities(session, case),
        escalations=[_escalation(e) for e in events if e.kind in ESCALATION_KINDS],
        timeline=[_event(e) for e in events],
        audit=_audit(session, row),
    )


def _case(case: CaseRecord) -> export.CaseSummary:
    return export.CaseSummary(
        ref=case.ref,
        number=case.number,
        title=case.title,
        state=case.state,
        severity=case.severity,
        risk=case.risk,
        requirements=list(case.requirements),
        reporter=case.reporter_id,
        reporter_team=case.reporter_team,
        owner=case.owner_id,
        language=case.language,
        channel=case.channel,
        thread_ts=case.card_ts,
        permalink=case.details.permalink,
        reported_at=case.reported_at,
        updated_at=case.updated_at,
        version=case.version,
    )


def _report(event: CaseEvent | None) -> export.Report | None:
    """The report exactly as the audit trail holds it: what was submitted, by whom, when."""
    if event is None:
        return None
    return export.Report(at=event.at, by=event.actor_id, data=_data(event))


def _notices(session: Session, notices: Sequence[PartnerNotice]) -> list[export.PartnerNotice]:
    out: list[export.PartnerNotice] = []
    names: dict[str, str] = {}
    for notice in notices:
        if notice.partner_id not in names:
            partner = catalogue_rows.partner(session, notice.partner_id)
            names[notice.partner_id] = partner.name if partner else notice.partner_id
        out.append(
            export.PartnerNotice(
                id=notice.id,
                partner_id=notice.partner_id,
                partner_name=names[notice.partner_id],
                role=notice.role,
                measure_version=notice.measure_version,
                channel=notice.channel,
                status=notice.status,
                created_at=notice.created_at,
                sent_at=notice.sent_at,
                acknowledged_at=notice.ack_at,
                acknowledged_by=notice.ack_by,
                acknowledged_team=notice.ack_team,
                waived_at=notice.waived_at,
                waived_by=notice.waived_by,
                waived_reason=notice.waived_reason,
                failure=notice.failure,
                staff_clicks=list(notice.staff_clicks or []),
            )
        )
    return out


def _authorities(session: Session, case: CaseRecord) -> export.Authorities:
    """Who must be informed under Art. 20(2), what was recorded, and the Art. 73 deadline."""
    details = case.details
    names = duties.authority_names(session, details)
    recorded = details.duties
    deadline = details.art73()
    initial = recorded.get(duties.INITIAL_REPORT)
    complete = recorded.get(duties.COMPLETE_REPORT)
    return export.Authorities(
        authority=_party(details.authority, names.get("authority")),
        notified_body=_party(details.notified_body, names.get("notified_body")),
        required_duties=duties.required(details),
        duties=[export.duty(name, recorded[name]) for name in _ordered(recorded)],
        art73=None
        if deadline is None
        else export.Art73(
            category=deadline.category,
            aware_on=deadline.aware_on,
            due=deadline.due,
            days=deadline.days,
            article=deadline.article,
            initial_report=initial.made_on() if initial else None,
            complete_report=complete.made_on() if complete else None,
        ),
    )


def _ordered(recorded: Mapping[str, Any]) -> list[str]:
    known = [d for d in duties.ORDER if d in recorded]
    return known + sorted(d for d in recorded if d not in duties.ORDER)


def _party(partner_id: str | None, name: str | None) -> export.Party | None:
    if not partner_id:
        return None
    return export.Party(id=partner_id, name=name or partner_id)


def _escalation(event: CaseEvent) -> export.Escalation:
    data = _data(event)
    return export.Escalation(
        seq=event.seq,
        kind=event.kind,
        at=event.at,
        timer=data.get("timer"),
        level=data.get("level"),
        repeat=data.get("repeat"),
        notified=export.Notified(
            users=list(data.get("users") or []),
            usergroups=list(data.get("usergroups") or []),
            channels=list(data.get("channels") or []),
        ),
    )


def _event(event: CaseEvent) -> export.Event:
    return export.Event(
        seq=event.seq,
        kind=event.kind,
        actor=event.actor_id,
        at=event.at,
        data=_data(event),
        prev_hash=event.prev_hash,
        hash=event.hash,
    )


def _data(event: CaseEvent) -> dict[str, Any]:
    """The event's data as stored (tampered or not: verification says which)."""
    payload = event.payload if isinstance(event.payload, Mapping) else {}
    data = payload.get("data")
    return dict(data) if isinstance(data, Mapping) else {}


def _audit(session: Session, case: Case) -> export.Audit:
    result = verify_case(session, case)
    return export.Audit(
        intact=result.ok,
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
        detail=result.detail,
        event_count=case.event_count,
        head_hash=case.head_hash,
        genesis=GENESIS,
        algorithm=HASH_ALGORITHM,
    )


class Dossiers:
    """``/nonconformity export``: who may, and the upload into the case thread (files upload
    v2: ``files.getUploadURLExternal``, the upload, ``files.completeUploadExternal`` with the
    triage channel and the card's ``ts``)."""

    UPLOADED = ("md", "pdf", "json")

    def __init__(self, db: Database, client: WebClient, workspace: Workspace, clock: Clock):
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock

    def check(self, user_id: str, number: int) -> Case:
        """Members of the roles only; the case must exist and have its thread."""
        if not self.workspace.is_member(user_id):
            raise UserError("export.not_allowed")
        with self.db.read() as session:
            case = case_rows.by_number(session, number)
        if case is None:
            raise UserError("case.unknown", {"ref": f"NC-{number}"})
        if not case.card_ts:
            raise UserError("export.no_thread", {"ref": case.ref})
        return case

    def upload(self, case: Case, user_id: str) -> None:
        dossier = load(
            self.db, case.number, now=self.clock(), provider=self.workspace.provider.fixed()
        )
        lang = case.language
        verdict = t(
            "export.verdict.intact" if dossier["audit"]["intact"] else "export.verdict.broken", lang
        )
        self.client.files_upload_v2(
            file_uploads=[
                {
                    "content": render(dossier, fmt),
                    "filename": filename(dossier, fmt),
                    "title": filename(dossier, fmt),
                }
                for fmt in self.UPLOADED
            ],
            channel=case.channel,
            thread_ts=case.card_ts,
            initial_comment=t(
                "export.comment", lang, ref=case.ref, who=f"<@{user_id}>", verdict=verdict
            ),
        )
