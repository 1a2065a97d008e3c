"""The tables. Everything a case ever was stays here: rows are updated or appended, never deleted
(the AI Act asks for documentation to be kept for ten years)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

from bot.cases.state import CaseDetails, CaseRecord, CorrectiveMeasure, MeasureStatus, list_order
from bot.cases.workflow import CaseState
from storage.types import PydanticJSON, UTCDateTime

FIRED_AND_RUNNING = "fired > 0 AND status != 'cancelled'"
UNSETTLED = "status IN ('queued', 'sent', 'failed')"
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class AISystem(Base):
    """A high-risk AI system from the catalogue; deactivated, never deleted."""

    __tablename__ = "ai_systems"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Partner(Base):
    """A distributor, deployer, importer, authorised representative or authority."""

    __tablename__ = "partners"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(32))
    contacts: Mapped[list[Any]] = mapped_column(default=list)
    # Addresses the partner reads notices at, outside Slack (issue 17).
    emails: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str | None] = mapped_column(String(8))
    team_id: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class SystemPartner(Base):
    __tablename__ = "system_partners"
    system_id: Mapped[str] = mapped_column(ForeignKey("ai_systems.id"), primary_key=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Counter(Base):
    """Gapless sequences: incremented in the same transaction as the row that uses the number,
    so a rolled-back report gives its number back and no NC-n ever goes missing."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "cases"
    # Metrics and App Home count open cases by state and severity: an index-only scan.
    __table_args__ = (
        Index("ix_cases_state_severity", "state", "severity"),
        # App Home's lists: the first page of any of them is an index range, however many open.
        Index("ix_cases_owner_order", "owner_id", "list_order"),
        Index("ix_cases_reporter_number", "reporter_id", "number"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    submission_key: Mapped[str] = mapped_column(String(255), unique=True)
    system_id: Mapped[str] = mapped_column(ForeignKey("ai_systems.id"))
    system_version: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    requirements: Mapped[list[Any]] = mapped_column(default=list)
    risk: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    reporter_id: Mapped[str] = mapped_column(String(32), index=True)
    reporter_team: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    owner_id: Mapped[str | None] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(8))
    channel: Mapped[str] = mapped_column(String(32))
    card_ts: Mapped[str | None] = mapped_column(String(32))
    reported_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[CaseDetails] = mapped_column(PydanticJSON(CaseDetails), default=CaseDetails)
    # Derived (see ``_derive``): the last day of an Art. 73 report an open case still owes, so
    # App Home lists deadlines with an index, not a scan.
    report_due: Mapped[date | None] = mapped_column(Date, index=True)
    # Derived from state, severity and number (see ``_derive``): App Home's sort key. Set on
    # every row; nullable only so that it could be added to a populated SQLite table in place.
    list_order: Mapped[int | None] = mapped_column(BigInteger, index=True)
    # Oldest first; loaded with the case (one extra query for any number of cases).
    measures: Mapped[list[MeasureRow]] = relationship(
        order_by="MeasureRow.position", lazy="selectin"
    )

    @property
    def ref(self) -> str:
        return f"NC-{self.number}"

    @validates("state", "severity", "number", "details")
    def _derive(self, key: str, value: Any) -> Any:
        """Validate details as they are assigned (not only at flush), and keep the columns that
        are derived from the case's fields current: one place, whatever changed."""
        if key == "details":
            value = CaseDetails.model_validate(value)
        fields = {
            "state": self.state,
            "severity": self.severity,
            "number": self.number,
            "details": self.details,
            key: value,
        }
        state, severity, number, details = fields.values()
        if state is not None and severity is not None and number is not None:
            self.list_order = list_order(state, severity, number)
        if details is not None:
            owed = state not in (CaseState.CLOSED, CaseState.DISMISSED)
            self.report_due = details.report_due if owed else None
        return value

    @property
    def measure(self) -> MeasureRow | None:
        """The measure in force: the newest one neither rejected nor set aside."""
        current = [m for m in self.measures if m.status == MeasureStatus.CURRENT]
        return current[-1] if current else None

    @property
    def measures_in_force(self) -> list[MeasureRow]:
        """Every measure neither rejected nor set aside, oldest first (Close waits for all)."""
        return [m for m in self.measures if m.status == MeasureStatus.CURRENT]

    @property
    def measures_to_carry_out(self) -> list[MeasureRow]:
        """Approved and not yet carried out, oldest first: Done asks for the first of them."""
        return [m for m in self.measures_in_force if m.measure.approvals and not m.measure.done]

    def add_measure(self, measure: CorrectiveMeasure) -> MeasureRow:
        row = MeasureRow(position=len(self.measures) + 1)
        row.write(measure)
        self.measures.append(row)
        return row

    def record(self) -> CaseRecord:
        """The case as a domain value, detached from the session (views and the dossier).

        Constructed without validating again: every field comes from a column, and details
        and measures were validated when they were read (App Home builds hundreds of these).
        """
        return CaseRecord.model_construct(
            id=self.id,
            number=self.number,
            system_id=self.system_id,
            system_version=self.system_version,
            title=self.title,
            description=self.description,
            requirements=tuple(self.requirements or ()),
            risk=self.risk,
            severity=self.severity,
            evidence_url=self.evidence_url,
            reporter_id=self.reporter_id,
            reporter_team=self.reporter_team,
            state=self.state,
            version=self.version,
            owner_id=self.owner_id,
            language=self.language,
            channel=self.channel,
            card_ts=self.card_ts,
            reported_at=self.reported_at,
            updated_at=self.updated_at,
            event_count=self.event_count,
            head_hash=self.head_hash,
            details=self.details,
            measures=tuple(m.measure for m in self.measures),
        )


class MeasureRow(Base):
    """One corrective measure of a case, in the order they were proposed.

    The measure itself is ``measure`` (validated on read and write); ``status``, ``owner_id``
    and ``proposer_id`` are copied out of it by ``write`` so that App Home can ask "whose
    measures wait on me" with an index instead of reading every case.
    """

    __tablename__ = "measures"
    __table_args__ = (UniqueConstraint("case_id", "position", name="uq_measures_case_position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str] = mapped_column(String(32), index=True)
    proposer_id: Mapped[str] = mapped_column(String(32), index=True)
    measure: Mapped[CorrectiveMeasure] = mapped_column(PydanticJSON(CorrectiveMeasure))

    def write(self, measure: CorrectiveMeasure) -> None:
        self.measure = measure
        self.status = measure.status.value
        self.owner_id = measure.owner
        self.proposer_id = measure.proposer


class CaseEvent(Base):
    """The append-only audit trail; each row hashes its canonical JSON and its predecessor."""

    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_case_id_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(48))
    actor_id: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    """A Slack message the bot owes someone, committed with the change that caused it.

    A worker claims due rows with a short lease, sends, records Slack's ``ts``. Nothing is sent
    from inside a transaction, and nothing committed is forgotten.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "not_before"),
        # An edit looks for a newer edit of the same post (its target) before it is sent.
        Index("ix_outbox_edits", "target", "kind", "id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    target: Mapped[str] = mapped_column(String(255))  # a channel, a post's key, an address
    in_thread: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    not_before: Mapped[datetime]
    claimed_until: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class Timer(Base):
    """The next thing a case is owed by the clock: an escalation level, a reminder, a deadline.

    One mechanism for every timer kind. The frozen policy travels with the row; ``due_at`` is
    indexed with ``status`` so that a sweep reads only what is due, however many cases are open.
    """

    __tablename__ = "timers"
    __table_args__ = (
        Index("ix_timers_due", "status", "due_at"),
        # App Home's "overdue" list: only timers that have fired and still run, oldest first.
        Index(
            "ix_timers_fired",
            "anchor_at",
            "case_id",
            "kind",
            sqlite_where=text(FIRED_AND_RUNNING),
            postgresql_where=text(FIRED_AND_RUNNING),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    anchor_at: Mapped[datetime]
    level: Mapped[int] = mapped_column(Integer, default=0)
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    claimed_until: Mapped[datetime | None]
    fired: Mapped[int] = mapped_column(Integer, default=0)
    last_fired_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class PartnerNotice(Base):
    """One Art. 20(1) notice to one partner about one approved measure, and its proof of receipt."""

    __tablename__ = "partner_notices"
    __table_args__ = (
        # App Home's list of notices without a receipt, oldest first.
        Index(
            "ix_partner_notices_unsettled",
            "sent_at",
            "created_at",
            sqlite_where=text(UNSETTLED),
            postgresql_where=text(UNSETTLED),
        ),
        UniqueConstraint(
            "case_id", "partner_id", "measure_version", name="uq_partner_notices_once"
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    partner_id: Mapped[str] = mapped_column(ForeignKey("partners.id"))
    measure_version: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    failure: Mapped[str | None] = mapped_column(String(255))
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    sent_at: Mapped[datetime | None]
    ack_by: Mapped[str | None] = mapped_column(String(32))
    ack_team: Mapped[str | None] = mapped_column(String(32))
    ack_at: Mapped[datetime | None]
    staff_clicks: Mapped[list[Any]] = mapped_column(default=list)
    # A receipt that came another way than a Slack click (issue 17): ``{"via": "email",
    # "address": ...}`` from a receipt link, or ``{"via": "recorded", "who", "how", "when",
    # "by"}`` recorded by hand by triage.
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    waived_by: Mapped[str | None] = mapped_column(String(32))
    waived_reason: Mapped[str | None] = mapped_column(Text)
    waived_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Person(Base):
    """A Slack user as Slack showed them the first time they took part in a case (``users.info``,
    looked up once). Never updated: a renamed or deleted account does not rewrite what a dossier
    says about who acted; ``looked_up_at`` says when this was what Slack knew."""

    __tablename__ = "people"
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    team_id: Mapped[str | None] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(250))  # None: Slack did not know the user
    title: Mapped[str | None] = mapped_column(String(250))
    looked_up_at: Mapped[datetime] = mapped_column()


class HomeView(Base):
    """When a person last opened their App Home (``app_home_opened``, or "Show more"). A change
    refreshes only Homes opened lately (``bot.home.service.LIVE``): a Home nobody looks at
    would cost a ``views.publish`` for nothing, and opening it publishes it fresh anyway."""

    __tablename__ = "home_views"
    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column()


class AuditCheckpoint(Base):
    """A signed checkpoint of every case's chain head (``bot.audit.checkpoint``), as made and
    published. Kept here so that ``audit verify`` can compare each chain with the newest one;
    the copies that count are those outside the database (a Slack channel, a file)."""

    __tablename__ = "audit_checkpoints"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    made_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(16))
    # The signed statement (canonical JSON: seq, time, reason, heads digest, previous hash).
    statement: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(String(64))
    # What the digest covers: {"NC-n": [event count, head hash]} for every case at that time.
    heads: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The newest case_events.id it covers: a Close recorded after it makes the next one due.
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)


class SlackInstall(Base):
    """One installation's standing beside slack-sdk's own tables (``storage.slack_tables``):
    whether its tokens may be used, why not (``app_uninstalled``, ``tokens_revoked``), and when
    its rotating token is next due for a refresh. ``status`` is ``pending`` while active: the
    refresh is claimed like a due timer (``storage.leases.claim_due``), by one process at a time,
    because Slack revokes a refresh token once it is used."""

    __tablename__ = "slack_installs"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)  # "<enterprise_id>:<team_id>"
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(String(32))
    due_at: Mapped[datetime]  # when the token must next be refreshed (far ahead if it never is)
    claimed_until: Mapped[datetime | None]
    changed_at: Mapped[datetime]


class SlackRoute(Base):
    """Which installation reaches a channel or a user, when one deployment is installed in
    several workspaces: found once (``conversations.info``, ``users.info``, a request's team)
    and kept here, so every replica asks Slack once. ``install_key`` is ``SlackInstall.key``."""

    __tablename__ = "slack_routes"
    target: Mapped[str] = mapped_column(String(32), primary_key=True)  # C…/G…/D… or U…/W…
    install_key: Mapped[str] = mapped_column(String(80))
    found_at: Mapped[datetime]
