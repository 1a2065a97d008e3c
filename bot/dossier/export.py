"""The dossier's public shape: what an authority, an auditor or another tool receives.

These models are the contract, versioned by ``SCHEMA_VERSION``; the shipped JSON Schema
(``bot/resources/dossier.schema.json``) is generated from them (``python -m bot.dossier.export``)
and a test keeps the two equal. They are deliberately separate from how a case is stored
(``bot.cases.state``): a storage change is a migration, a change here is a new schema version.
Moments are ISO 8601 with their UTC offset.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from bot.cases.domain import Measure as MeasureKind
from bot.cases.domain import SeriousIncident
from bot.cases.state import Assessment as AssessmentState
from bot.cases.state import CorrectiveMeasure as MeasureState
from bot.cases.state import DutyRecord, MeasureStatus, Reasoned, Stamp

SCHEMA_VERSION: Final = "2.1"

DossierJSON = dict[str, Any]
"""A dossier as JSON (``Dossier`` dumped): what the renderings read."""
SCHEMA_ID: Final = "https://nonconformity-bot.example/dossier.schema.json"
DESCRIPTION: Final = (
    "The complete record of one case, as exported by `nonconformity-bot export NC-n --format "
    "json`. schema_version follows semantic versioning: a new optional field raises the minor "
    "version, anything that can break a reader raises the major version. Times are ISO 8601 "
    "with their UTC offset; dates are ISO 8601 calendar dates. Generated from the export models "
    "in bot/dossier/export.py. Version 2 adds the people (names as Slack showed them), the text "
    "sent to each partner and authority, and the system's registration and certificate."
)

Moment = Annotated[
    datetime,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
Day = Annotated[
    date,
    PlainSerializer(lambda value: value.isoformat(), return_type=str),
    WithJsonSchema({"type": "string", "format": "date"}),
]
Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
State = Literal[
    "reported",
    "acknowledged",
    "confirmed",
    "measure_proposed",
    "measure_approved",
    "measure_done",
    "closed",
    "dismissed",
]
DutyName = Literal[
    "investigate", "inform_authority", "inform_notified_body", "initial_report", "complete_report"
]


class _Export(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Party(_Export):
    id: str
    name: str


class CaseSummary(_Export):
    ref: Annotated[str, Field(pattern="^NC-[0-9]+$")]
    number: Annotated[int, Field(ge=1)]
    title: str
    state: State
    severity: Literal["low", "medium", "high", "critical"]
    risk: Literal["yes", "no", "unknown"]
    requirements: list[str]
    reporter: str = Field(description="Slack user id of the reporter")
    reporter_team: str = Field(
        description="Where the reporter belongs, as Slack named it: their workspace id (T…), "
        "or on Enterprise Grid their organisation id (E…)"
    )
    owner: str | None = Field(description="Slack user id of the case owner (who acknowledged)")
    language: str
    channel: str = Field(description="The triage channel holding the case card")
    thread_ts: str | None = Field(description="The case card's ts: the thread of the case")
    permalink: str | None
    reported_at: Moment
    updated_at: Moment
    version: Annotated[int, Field(ge=1)]


class Provider(_Export):
    """The provider that speaks in the case's notices and authority messages (1.1)."""

    name: str | None
    address: str | None
    contact: str | None = Field(description="An e-mail address or phone number for people outside")


class SystemSummary(_Export):
    id: str
    name: str
    version: str = Field(description="The system version the report was about")
    provider: str | None = Field(description="The provider, where the catalogue names one")
    eu_database_id: str | None = Field(
        description="Registration number in the EU database for high-risk AI systems (Art. 71)"
    )
    notified_body_certificate: str | None = Field(
        description="The notified body's certificate for the system (Art. 44)"
    )


class Person(_Export):
    """A Slack user as Slack showed them when first looked up (``users.info``), never updated:
    a renamed account does not rewrite who acted."""

    id: str = Field(description="Slack user id, as the audit trail holds it")
    team: str | None = Field(description="Slack team (workspace) id")
    name: str | None = Field(description="Name shown in Slack; null when never looked up")
    title: str | None = Field(description="The title in the person's Slack profile")
    looked_up_at: Moment | None


class SentMessage(_Export):
    """A message as the bot sent it: the outbox row holds exactly what went to Slack."""

    key: str = Field(description="The outbox dedupe key")
    kind: str
    step: str | None
    to: Party | None = Field(description="The partner or authority it was addressed to")
    channel: str
    status: str
    created_at: Moment
    sent_at: Moment | None
    text: str = Field(description="The message's text as sent (Slack mrkdwn)")
    blocks: list[dict[str, Any]] = Field(description="The Block Kit blocks as sent")
    readable: str = Field(description="The blocks as plain text, without buttons")


class Report(_Export):
    """The report as submitted, from the first audit event (kind 'reported')."""

    at: Moment
    by: str | None
    data: dict[str, Any]


class Decision(_Export):
    by: str
    at: Moment


class Assessment(Decision):
    nature: str
    causal_link: str
    risk: Literal["yes", "no"]
    serious_incident: SeriousIncident
    aware_on: Day
    # Since 2.1: optional in the schema (a 2.0 dossier still validates); always written.
    member_states: list[str] = Field(
        default_factory=list,
        description="Since 2.1: where a serious incident occurred (ISO 3166 codes); empty "
        "when none was recorded",
    )
    occurred_on: Day | None = Field(
        default=None,
        description="Since 2.1: when a serious incident happened; null when not known",
    )
    persons_affected: int | None = Field(
        default=None,
        description="Since 2.1: how many persons a serious incident affected; null when not known",
    )


class ReasonedDecision(Decision):
    reason: str


class Done(Decision):
    evidence: str
    link: str | None


class Art73Warning(_Export):
    shown: bool
    continued_by: str


class CorrectiveMeasure(_Export):
    measure: MeasureKind
    plan: str
    owner: str
    target_date: Day
    affected: str
    keeps_running: Literal["yes", "no"]
    partner_ask: str | None = Field(default=None, description="What partners are asked to do (1.1)")
    partner_by: Day | None = Field(default=None, description="By when partners are to act (1.1)")
    proposer: str
    proposed_at: Moment
    approvals: list[Decision]
    status: MeasureStatus
    art73_6_warning: Art73Warning | None
    done: Done | None
    rejection: ReasonedDecision | None


class PartnerNotice(_Export):
    id: int
    partner_id: str
    partner_name: str
    role: str
    measure_version: int
    channel: str
    status: str
    created_at: Moment
    sent_at: Moment | None
    acknowledged_at: Moment | None
    acknowledged_by: str | None
    acknowledged_team: str | None
    waived_at: Moment | None
    waived_by: str | None
    waived_reason: str | None
    failure: str | None
    staff_clicks: list[Any]
    language: str | None = Field(description="The language the notice was written in")
    message: SentMessage | None = Field(description="The notice exactly as sent")


class Duty(_Export):
    duty: str
    by: str
    at: Moment
    on: Day | None
    how: str | None
    reference: str | None
    findings: str | None


class Art73(_Export):
    category: Literal["a_death", "a_health", "b", "c", "c_widespread", "d"]
    aware_on: Day
    due: Day
    days: int
    article: str
    initial_report: str | None
    complete_report: str | None


class IncidentAuthority(_Export):
    member_state: str
    authority: Party | None


class Authorities(_Export):
    """Art. 20(2) duties (investigate, inform the market surveillance authority and the notified
    body) and Art. 73 reports."""

    authority: Party | None
    notified_body: Party | None
    required_duties: list[DutyName]
    duties: list[Duty]
    art73: Art73 | None
    incident_authorities: list[IncidentAuthority] = Field(
        default_factory=list,
        description="Since 2.1: Art. 73(1), for a serious incident, the market surveillance "
        "authority of each Member State where it occurred, fixed when it was confirmed",
    )
    messages: list[SentMessage] = Field(
        description="What the bot sent to the authority, the notified body and the deployer "
        "asked to investigate, exactly as sent"
    )


class Notified(_Export):
    users: list[str]
    usergroups: list[str]
    channels: list[str]


class Escalation(_Export):
    seq: int
    kind: str
    at: Moment
    timer: Any
    level: Any
    repeat: Any
    notified: Notified


class Event(_Export):
    seq: int
    kind: str
    actor: str | None
    at: Moment
    data: dict[str, Any]
    prev_hash: Sha256
    hash: Sha256


class Audit(_Export):
    intact: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None
    detail: str | None
    event_count: int
    head_hash: Sha256 | None
    genesis: str
    algorithm: str


class Dossier(_Export):
    """Everything an authority (Art. 21) or an auditor needs about one case."""

    schema_version: Annotated[str, Field(pattern="^2\\.[0-9]+$")]
    generated_at: Moment
    provider: Provider | None = Field(
        default=None,
        description="The provider named in the workspace file when the case was reported (1.1)",
    )
    case: CaseSummary
    system: SystemSummary
    people: list[Person] = Field(
        description="Everyone the dossier names by Slack id, with the name Slack showed"
    )
    report: Report | None
    assessment: Assessment | None
    dismissal: ReasonedDecision | None
    measure: CorrectiveMeasure | None = Field(
        description="The current corrective measure with its plan, approvals and execution."
    )
    earlier_measures: list[CorrectiveMeasure] = Field(
        description="Rejected measures (with 'rejection') and measures set aside by a reopening."
    )
    reopenings: list[ReasonedDecision]
    partner_notices: list[PartnerNotice] = Field(
        description="Art. 20(1) notices to distributors, deployers, importers and authorised "
        "representatives."
    )
    authorities: Authorities
    escalations: list[Escalation]
    timeline: list[Event]
    audit: Audit


# --- from the case's state to its export ---


def _decision(stamp: Stamp) -> Decision:
    return Decision(by=stamp.by, at=stamp.at)


def reasoned(decision: Reasoned | None) -> ReasonedDecision | None:
    if decision is None:
        return None
    return ReasonedDecision(by=decision.by, at=decision.at, reason=decision.reason)


def assessment(state: AssessmentState | None) -> Assessment | None:
    if state is None:
        return None
    return Assessment(
        by=state.by,
        at=state.at,
        nature=state.nature,
        causal_link=state.causal_link,
        risk=state.risk,
        serious_incident=state.serious_incident,
        aware_on=state.aware_on,
        member_states=list(state.member_states),
        persons_affected=state.persons_affected,
        occurred_on=state.occurred_on,
    )


def measure(state: MeasureState) -> CorrectiveMeasure:
    done = state.done
    warning = state.art73_6_warning
    return CorrectiveMeasure(
        measure=state.measure,
        plan=state.plan,
        owner=state.owner,
        target_date=state.target_date,
        affected=state.affected,
        keeps_running=state.keeps_running,
        partner_ask=state.partner_ask,
        partner_by=state.partner_by,
        proposer=state.proposer,
        proposed_at=state.proposed_at,
        approvals=[_decision(a) for a in state.approvals],
        status=state.status,
        art73_6_warning=Art73Warning(shown=warning.shown, continued_by=warning.continued_by)
        if warning
        else None,
        done=Done(by=done.by, at=done.at, evidence=done.evidence, link=done.link) if done else None,
        rejection=reasoned(state.rejection),
    )


def duty(name: str, record: DutyRecord) -> Duty:
    return Duty(
        duty=name,
        by=record.by,
        at=record.at,
        on=record.on,
        how=record.how,
        reference=record.reference,
        findings=record.findings,
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of this version, as shipped in ``bot/resources``."""
    schema = Dossier.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Non-conformity case dossier (EU AI Act Art. 20, 21, 73)",
        **{k: v for k, v in schema.items() if k != "title"},
        "description": DESCRIPTION,
    }


def schema_text() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # python -m bot.dossier.export > bot/resources/dossier.schema.json
    print(schema_text(), end="")
