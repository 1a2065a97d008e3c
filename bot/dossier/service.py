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
from bot.delivery import messages
from bot.dossier import art73, export
from bot.dossier.export import SCHEMA_VERSION
from bot.dossier.export import DossierJSON as Dossier
from bot.dossier.formats import filename, render
from bot.dossier.people import Names, user_ids_in
from bot.dossier.sent import readable
from bot.duties import service as duties
from bot.errors import UserError
from bot.messages import t
from bot.ops.people import People
from bot.ops.workspace import Workspace
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import notices as notice_rows
from storage import outbox as outbox_rows
from storage import people as people_rows
from storage.db import Database
from storage.events import events_of
from storage.models import Case, CaseEvent, OutboxMessage, PartnerNotice

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


def load_named(
    db: Database,
    names: Names,
    number: int,
    *,
    now: datetime,
    provider: ProviderRef | None = None,
) -> Dossier:
    """The dossier, with anyone it names but nobody looked up yet (someone only notified by an
    escalation, never acting) looked up now, once. Needs Slack; ``load`` does not."""
    dossier = load(db, number, now=now, provider=provider)
    unnamed = [p["id"] for p in dossier["people"] if p["looked_up_at"] is None]
    if not unnamed:
        return dossier
    names.remember(unnamed)
    return load(db, number, now=now, provider=provider)


def build(
    session: Session, row: Case, *, now: datetime, provider: ProviderRef | None = None
) -> export.Dossier:
    case = row.record()
    named = case.details.provider or provider
    events = list(events_of(session, case.id))
    system = catalogue_rows.system(session, case.system_id)
    spec = system.spec if system and isinstance(system.spec, Mapping) else {}
    reported = next((e for e in events if e.kind == "reported"), None)
    current = case.measure
    sent = {message.dedupe_key: message for message in outbox_rows.for_case(session, case.id)}
    dossier = export.Dossier(
        schema_version=SCHEMA_VERSION,
        generated_at=now,
        provider=export.Provider.model_validate(named.model_dump()) if named else None,
        case=_case(case),
        system=export.SystemSummary(
            id=case.system_id,
            name=system.name if system else case.system_id,
            version=case.system_version,
            provider=_text(spec.get("provider")),
            eu_database_id=_text(spec.get("eu_database_id")),
            notified_body_certificate=_text(spec.get("notified_body_certificate")),
        ),
        people=[],
        report=_report(reported),
        assessment=export.assessment(case.details.assessment),
        dismissal=export.reasoned(case.details.dismissal),
        measure=export.measure(current) if current else None,
        earlier_measures=[export.measure(m) for m in case.earlier_measures],
        reopenings=[r for r in map(export.reasoned, case.details.reopenings) if r is not None],
        partner_notices=_notices(session, notice_rows.of_case(session, case.id), sent),
        authorities=_authorities(session, case, sent),
        escalations=[_escalation(e) for e in events if e.kind in ESCALATION_KINDS],
        timeline=[_event(e) for e in events],
        audit=_audit(session, row),
    )
    return dossier.model_copy(update={"people": _people(session, dossier)})


def _text(value: object) -> str | None:
    if isinstance(value, Mapping):  # a provider given as {name: …}
        value = value.get("name")
    return str(value) if value else None


def _people(session: Session, dossier: export.Dossier) -> list[export.Person]:
    """Everyone the dossier names by id, as Slack showed them when first looked up."""
    ids = user_ids_in(dossier.model_dump(mode="json"))
    known = people_rows.of(session, ids)
    out = []
    for user_id in sorted(ids):
        person = known.get(user_id)
        out.append(
            export.Person(
                id=user_id,
                team=person.team_id if person else None,
                name=person.name if person else None,
                title=person.title if person else None,
                looked_up_at=person.looked_up_at if person else None,
            )
        )
    return out


def _sent(row: OutboxMessage | None, to: export.Party | None) -> export.SentMessage | None:
    """A message exactly as the outbox row holds it, i.e. as it was (or will be) sent."""
    if row is None:
        return None
    payload = row.payload if isinstance(row.payload, Mapping) else {}
    text = str(payload.get("text") or "")
    raw = payload.get("blocks")
    blocks = [b for b in raw if isinstance(b, dict)] if isinstance(raw, list) else []
    step = payload.get("step")
    return export.SentMessage(
        key=row.dedupe_key,
        kind=row.kind,
        step=str(step) if step else None,
        to=to,
        channel=row.slack_channel or row.target,
        status=row.status,
        created_at=row.created_at,
        sent_at=row.sent_at,
        text=text,
        blocks=blocks,
        readable=readable(text, blocks),
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


def _notices(
    session: Session, notices: Sequence[PartnerNotice], sent: Mapping[str, OutboxMessage]
) -> list[export.PartnerNotice]:
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
                language=notice.language,
                message=_sent(
                    sent.get(messages.notice_key(notice.id)) or _emailed(sent, notice.id),
                    export.Party(id=notice.partner_id, name=names[notice.partner_id]),
                ),
            )
        )
    return out


def _emailed(sent: Mapping[str, OutboxMessage], notice_id: int) -> OutboxMessage | None:
    """A notice sent only by e-mail: the e-mail to its first address (each address got the same
    words; only the receipt link differs)."""
    prefix = messages.notice_key(notice_id) + ":email:"
    return next(
        (
            row
            for key, row in sorted(sent.items())
            if key.startswith(prefix) and key.count(":") == 3
        ),
        None,
    )


AUTHORITY_MESSAGES = ("authority:", "authority-email:", "investigate-invite:")


def _authorities(
    session: Session, case: CaseRecord, sent: Mapping[str, OutboxMessage]
) -> export.Authorities:
    """Who must be informed under Art. 20(2), what was recorded, and the Art. 73 deadline."""
    details = case.details
    names = duties.authority_names(session, details)
    recorded = details.duties
    deadline = details.art73()
    initial = recorded.get(duties.INITIAL_REPORT)
    complete = recorded.get(duties.COMPLETE_REPORT)
    messages_sent = []
    for key, row in sent.items():
        if key.startswith(AUTHORITY_MESSAGES):
            partner = (
                catalogue_rows.partner_by_email(session, row.target)
                if key.startswith("authority-email:")
                else catalogue_rows.partner_by_channel(session, row.target)
            )
            party = export.Party(id=partner.id, name=partner.name) if partner else None
            message = _sent(row, party)
            if message is not None:
                messages_sent.append(message)
    return export.Authorities(
        messages=sorted(messages_sent, key=lambda m: (m.created_at, m.key)),
        authority=_party(details.authority, names.get("authority")),
        notified_body=_party(details.notified_body, names.get("notified_body")),
        incident_authorities=[
            export.IncidentAuthority(
                member_state=found.member_state,
                authority=_party(found.authority, _partner_name(session, found.authority)),
            )
            for found in details.incident_authorities
        ],
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


def _partner_name(session: Session, partner_id: str | None) -> str | None:
    partner = catalogue_rows.partner(session, partner_id) if partner_id else None
    return partner.name if partner else None


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

    def __init__(
        self,
        db: Database,
        client: WebClient,
        workspace: Workspace,
        clock: Clock,
        names: Names,
        people: People | None = None,
    ):
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self.names = names
        self.people = people or People(workspace, None)

    def check(self, user_id: str, team_id: str | None, number: int) -> Case:
        """Members of the roles in our workspace only; the case must exist and have its
        thread."""
        if not self.people.reads_all(user_id, team_id):
            raise UserError("export.not_allowed")
        with self.db.read() as session:
            case = case_rows.by_number(session, number)
        if case is None:
            raise UserError("case.unknown", {"ref": f"NC-{number}"})
        if not case.card_ts:
            raise UserError("export.no_thread", {"ref": case.ref})
        return case

    def upload_art73(self, case: Case, user_id: str) -> None:
        """The draft Art. 73 report (Markdown and PDF) into the case thread; the type is what
        the case's Art. 73 duties say is next."""
        dossier = load_named(self.db, self.names, case.number, now=self.clock())
        if dossier["authorities"]["art73"] is None:
            raise UserError("art73.not_serious", {"ref": case.ref})
        lang = self.workspace.language
        report = art73.draft(dossier, lang)
        self.client.files_upload_v2(
            file_uploads=[
                {
                    "content": art73.render(report, fmt),
                    "filename": art73.filename(report, fmt),
                    "title": art73.filename(report, fmt),
                }
                for fmt in ("md", "pdf")
            ],
            channel=case.channel,
            thread_ts=case.card_ts,
            initial_comment=t(
                "art73.comment",
                lang,
                type=t(f"art73.type.{report.type}", lang),
                ref=case.ref,
                who=f"<@{user_id}>",
            ),
        )

    def upload(self, case: Case, user_id: str) -> None:
        dossier = load_named(
            self.db,
            self.names,
            case.number,
            now=self.clock(),
            provider=self.workspace.provider.fixed(),
        )
        lang = self.workspace.language
        verdict = t(
            "export.verdict.intact" if dossier["audit"]["intact"] else "export.verdict.broken", lang
        )
        self.client.files_upload_v2(
            file_uploads=[
                {
                    "content": render(dossier, fmt, lang),
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
