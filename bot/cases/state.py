"""A case's state as types: what was assessed, decided, approved, done and recorded, and by whom.

These models are the procedure's memory. They are validated when a case is read from the database
and when it is written, so a view or a service never meets a half-shaped dict; they are frozen, so
a change is a new value (``model_copy(update=...)``) assigned back, which the database layer sees.

What is stored here is internal: the dossier exports its own, versioned models
(``bot.dossier_export``), so this shape can change with a migration without changing what an
authority receives. Audit events are not these models: their payloads are hashed and never
rewritten, and code that reads an old event kind reads its old shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.cases.domain import Measure, SeriousIncident
from bot.cases.workflow import CaseState
from bot.duties.deadlines import ARTICLE, DAYS, Incident, due_date, is_serious

YesNo = Literal["yes", "no"]


class _State(BaseModel):
    # "forbid": a key the code does not know is a bug or a tampered row, not data to carry along.
    model_config = ConfigDict(extra="forbid", frozen=True)


class Stamp(_State):
    """Who decided, and when (UTC)."""

    by: str
    at: datetime


class Assessment(Stamp):
    """Step 2: the non-conformity confirmed, and what follows from it (Art. 79(1), Art. 73)."""

    nature: str
    causal_link: str
    risk: YesNo
    serious_incident: SeriousIncident
    aware_on: date
    # Where a serious incident occurred (ISO 3166 codes) and how many persons it affected, when
    # known; absent from assessments recorded before they were asked.
    member_states: tuple[str, ...] = ()
    persons_affected: int | None = None
    occurred_on: date | None = None  # when the serious incident happened, where known


class Reasoned(Stamp):
    """A decision that had to say why: a dismissal, a rejection, a reopening."""

    reason: str


class Done(Stamp):
    """Step 5: the evidence that the measure was carried out."""

    evidence: str
    link: str | None = None


class Amendment(Reasoned):
    """A measure amended after it was proposed: it went back to approval under four eyes.
    ``notified``: partners had been informed of the version it amends, so their next notice
    is an update that asks for receipt again."""

    notified: bool = False


class Art73Warning(_State):
    """Art. 73(6): altering the system of a serious incident may spoil the investigation; the
    warning was shown, and this person went on."""

    shown: bool = True
    continued_by: str


class MeasureStatus(StrEnum):
    CURRENT = "current"  # the case's measure now
    REJECTED = "rejected"  # refused under the four-eyes rule
    SUPERSEDED = "superseded"  # set aside when the case was reopened


class CorrectiveMeasure(_State):
    """One corrective action of Art. 20(1): its plan, owner and timing, approvals and outcome."""

    measure: Measure
    plan: str
    owner: str
    target_date: date
    affected: str
    keeps_running: YesNo
    # What partners are asked to do, and by when (the target date is the owner's, not theirs).
    partner_ask: str | None = None
    partner_by: date | None = None
    art73_6: tuple[str, ...] = ()
    proposer: str
    proposed_at: datetime
    approvals: tuple[Stamp, ...] = ()
    art73_6_warning: Art73Warning | None = None
    done: Done | None = None
    rejection: Reasoned | None = None
    status: MeasureStatus = MeasureStatus.CURRENT
    # Amendments (the card's "Amend measure"), oldest first: each sent it back to approval.
    amendments: tuple[Amendment, ...] = ()

    @property
    def amenders(self) -> frozenset[str]:
        """Who amended it since it was last approved: each wrote part of what now awaits
        approval, so under four eyes none of them may approve it (nor may its proposer)."""
        found: set[str] = set()
        for amendment in reversed(self.amendments):
            found.add(amendment.by)
            if amendment.notified:  # the first amendment after an approval: older ones were
                break  # approved already
        return frozenset(found)


class DutyRecord(Stamp):
    """An Art. 20(2) or Art. 73 duty recorded: an investigation's findings, or when and how an
    authority was informed or a report made."""

    findings: str | None = None
    how: str | None = None
    on: date | None = None
    reference: str | None = None
    # Where the bot posted the message, when "Send it now" was chosen (the outbox keeps it).
    sent_to: str | None = None

    def made_on(self) -> str:
        """When a report was made: the date people entered (``on``), else when it was recorded."""
        return (self.on or self.at).isoformat()


class PartnerRef(_State):
    """A catalogue partner as it was fixed on the case (the reporting deployer)."""

    id: str
    name: str
    channel: str | None = None


class ProviderRef(_State):
    """The provider as the workspace file named it when the case was reported: who speaks in
    the case's notices, authority messages and dossier, even after the file changes."""

    name: str | None = None
    address: str | None = None
    contact: str | None = None


@dataclass(frozen=True)
class Art73:
    """A serious incident's reporting deadline (Art. 73), counted from the awareness date."""

    category: str
    aware_on: date
    due: date
    days: int
    article: str


INVESTIGATE = "investigate"
INFORM_AUTHORITY = "inform_authority"
INFORM_NOTIFIED_BODY = "inform_notified_body"
INITIAL_REPORT = "initial_report"
COMPLETE_REPORT = "complete_report"
DUTY_ORDER = (INVESTIGATE, INFORM_AUTHORITY, INFORM_NOTIFIED_BODY, INITIAL_REPORT, COMPLETE_REPORT)


class IncidentAuthority(_State):
    """Art. 73(1): a Member State where a serious incident occurred, and the market surveillance
    authority (a catalogue partner id; None when the catalogue names none) it is reported to."""

    member_state: str
    authority: str | None


class CaseDetails(_State):
    """Everything about a case that is not a column of its own and not a measure."""

    assessment: Assessment | None = None
    dismissal: Reasoned | None = None
    reopenings: tuple[Reasoned, ...] = ()
    duties: dict[str, DutyRecord] = Field(default_factory=dict)
    # Fixed when the non-conformity is confirmed: who must be informed under Art. 20(2).
    authority: str | None = None
    notified_body: str | None = None
    reporting_deployer: PartnerRef | None = None
    # Fixed with them for a serious incident: the authority of each Member State it occurred in.
    incident_authorities: tuple[IncidentAuthority, ...] = ()
    # Fixed when the case is reported (None for cases reported before providers were named).
    provider: ProviderRef | None = None
    # A corrected awareness date (Art. 73 counts from it); the assessment keeps the first one.
    aware_on: date | None = None
    # Thread messages kept current in place, by topic: the outbox key of their first post.
    panels: dict[str, str] = Field(default_factory=dict)
    permalink: str | None = None
    # The last step modal that took effect: the same submission again changes nothing.
    last_submission: str | None = None
    # The case version at which the partner notices were queued (the notices' card shows it).
    notices_version: int | None = None
    # Notices (by the version they were queued at) of a measure amended since: the update
    # notice replaces them, so they no longer hold up Close and their reminders stop.
    superseded_notices: tuple[int, ...] = ()
    # The reminders panel: per timer, the line of its latest firing (the thread keeps one line
    # per timer current instead of a new message per reminder).
    reminders: dict[str, str] = Field(default_factory=dict)

    def art73(self) -> Art73 | None:
        """The Art. 73 deadline, where the assessment found a serious incident."""
        assessment = self.assessment
        if assessment is None or not is_serious(assessment.serious_incident):
            return None
        category = assessment.serious_incident.value
        aware_on = self.aware_on or assessment.aware_on
        return Art73(
            category,
            aware_on,
            due_date(category, aware_on),
            DAYS[Incident(category)],
            ARTICLE[Incident(category)],
        )

    @property
    def report_due(self) -> date | None:
        """The last day for an Art. 73 report not made yet (None when none is owed)."""
        deadline = self.art73()
        if deadline is None or INITIAL_REPORT in self.duties:
            return None
        return deadline.due

    def with_duty(self, duty: str, record: DutyRecord) -> CaseDetails:
        return self.model_copy(update={"duties": {**self.duties, duty: record}})

    def with_panel(self, panel: str, key: str) -> CaseDetails:
        return self.model_copy(update={"panels": {**self.panels, panel: key}})

    def without_panel(self, panel: str) -> CaseDetails:
        return self.model_copy(
            update={"panels": {k: v for k, v in self.panels.items() if k != panel}}
        )

    def with_reminder(self, timer: str, line: str) -> CaseDetails:
        return self.model_copy(update={"reminders": {**self.reminders, timer: line}})


STATE_RANK: dict[str, int] = {state.value: i for i, state in enumerate(CaseState)}
SEVERITY_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}
ORDER_SPAN = 10**10  # above any case number (NC-n has at most nine digits)


def list_order(state: str, severity: str, number: int) -> int:
    """Where a case stands in App Home's lists: by state along the procedure, then the most
    severe first, then the newest first — as one integer, so that an index can give any list's
    first page without sorting every open case."""
    rank = STATE_RANK.get(state, 99) * 10 + SEVERITY_RANK.get(severity, 9)
    return rank * ORDER_SPAN + (ORDER_SPAN - 1 - number)


def state_range(*states: CaseState) -> tuple[int, int]:
    """The ``list_order`` values of cases in these consecutive states: [low, high)."""
    ranks = [STATE_RANK[s.value] for s in states]
    return min(ranks) * 10 * ORDER_SPAN, (max(ranks) + 1) * 10 * ORDER_SPAN


def required_duties(details: CaseDetails) -> list[str]:
    """Which Art. 20(2) and Art. 73 duties apply, from the assessment (a report's "unknown"
    risk is settled there)."""
    assessment = details.assessment
    if assessment is None:
        return []
    duties: list[str] = []
    if assessment.risk == "yes":
        duties += [INVESTIGATE, INFORM_AUTHORITY]
        if details.notified_body:
            duties.append(INFORM_NOTIFIED_BODY)
    if is_serious(assessment.serious_incident):
        duties += [INITIAL_REPORT, COMPLETE_REPORT]
    return duties


def current_measure(measures: Sequence[CorrectiveMeasure]) -> CorrectiveMeasure | None:
    """The measure in force: the newest one neither rejected nor set aside."""
    current = [m for m in measures if m.status is MeasureStatus.CURRENT]
    return current[-1] if current else None


def measures_in_force(measures: Sequence[CorrectiveMeasure]) -> list[CorrectiveMeasure]:
    """Every measure of the case neither rejected nor set aside, in order: "Disable now, bring
    into conformity later" is two of them, and Close waits for all."""
    return [m for m in measures if m.status is MeasureStatus.CURRENT]


def to_carry_out(measures: Sequence[CorrectiveMeasure]) -> CorrectiveMeasure | None:
    """The measure the Done step asks for: the oldest one in force that is approved and not yet
    carried out (measures are carried out in the order they were proposed)."""
    waiting = [m for m in measures_in_force(measures) if m.approvals and m.done is None]
    return waiting[0] if waiting else None


class CaseRecord(_State):
    """A case as views, the dossier and the rules read it: its columns, its details and its
    ordered measures, detached from the database session it was read in."""

    id: int
    number: int
    system_id: str
    system_version: str
    title: str
    description: str
    requirements: tuple[str, ...]
    risk: str
    severity: str
    evidence_url: str | None
    reporter_id: str
    reporter_team: str
    state: str
    version: int
    owner_id: str | None
    language: str
    channel: str
    card_ts: str | None
    reported_at: datetime
    updated_at: datetime
    event_count: int
    head_hash: str | None
    details: CaseDetails
    measures: tuple[CorrectiveMeasure, ...] = ()

    @property
    def ref(self) -> str:
        return f"NC-{self.number}"

    @property
    def measure(self) -> CorrectiveMeasure | None:
        return current_measure(self.measures)

    @property
    def measures_in_force(self) -> list[CorrectiveMeasure]:
        return measures_in_force(self.measures)

    @property
    def measure_to_carry_out(self) -> CorrectiveMeasure | None:
        return to_carry_out(self.measures)

    @property
    def earlier_measures(self) -> tuple[CorrectiveMeasure, ...]:
        """Every measure but the one in force, oldest first: rejected ones, those set aside by
        a reopening, and those carried out before a measure was added."""
        latest = self.measure
        return tuple(m for m in self.measures if m is not latest)
