"""An alert becomes a report: a case like any other, reported by "monitoring".

Each signal is handled in one transaction that locks its alert group's row, so a retried or
concurrent webhook for the same group finds the case the first one opened. What the thread
shows (one kept-current line) is queued in the outbox with the change, and coalesced: while an
update of the line waits unsent, a repeat changes only the row it will render from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.alerts import views
from bot.alerts.payloads import EVIDENCE_ALERTS, Signal
from bot.audit import trail as audit
from bot.cases import actors
from bot.cases.report_input import ReportInput
from bot.cases.service import Cases
from bot.clock import Clock
from bot.delivery import messages
from bot.duties.service import CLOSED_STATES
from bot.messages import tn
from bot.ops.request_context import case_scope
from bot.ops.workspace import Workspace
from storage import alerts as alert_rows
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import outbox
from storage.alerts import FIRING, RESOLVED, AlertGroup
from storage.db import Database
from storage.models import Case, OutboxMessage

log = logging.getLogger("ncbot.alerts")

PANEL = "alerts"
LINE_EVERY = timedelta(seconds=10)  # the thread's line is updated at most this often per case
FINGERPRINTS_KEPT = 1000  # distinct alerts remembered per group; more are still counted as fires
REQUIREMENTS = ["other"]  # which requirement an alert concerns is for triage to assess


@dataclass(frozen=True)
class Outcome:
    """What one signal did: ``opened``, ``repeated``, ``resolved``, ``quiet``, ``unknown_system``
    or ``ignored`` (a resolve for a group that never opened a case)."""

    result: str
    case_ref: str | None = None
    case_id: int | None = None


class Alerts:
    def __init__(self, db: Database, workspace: Workspace, clock: Clock, cases: Cases) -> None:
        self.db = db
        self.workspace = workspace
        self.clock = clock
        self.cases = cases

    @property
    def lang(self) -> str:
        return self.workspace.language

    def receive(self, signal: Signal) -> Outcome:
        """Store what ``signal`` means, committed before the caller answers 200."""
        now = self.clock()
        with self.db.transaction() as session:
            group, _ = alert_rows.locked_group(
                session,
                system_id=signal.system_id,
                group_key=signal.group_key,
                source=signal.source,
                now=now,
            )
            system = catalogue_rows.system(session, signal.system_id) if signal.system_id else None
            if system is None or not system.active:
                return self._unknown_system(session, group, signal, now)
            case = case_rows.by_id(session, group.case_id, lock=True) if group.case_id else None
            with case_scope(case.id if case else None):
                if signal.status == RESOLVED:
                    return self._resolved(session, group, case, signal, now)
                if case is None or (case.state in CLOSED_STATES and group.status == RESOLVED):
                    return self._open(session, group, signal, now)
                if case.state in CLOSED_STATES:
                    return self._quiet(session, group, case, signal, now)
                return self._repeated(session, group, case, signal, now)

    def _open(self, session: Session, group: AlertGroup, signal: Signal, now: datetime) -> Outcome:
        data = ReportInput(
            system_id=signal.system_id,
            title=signal.title,
            description=signal.description,
            requirements=REQUIREMENTS,
            risk="unknown",
            severity=signal.severity.value,
            evidence_url=signal.link,
        )
        group.episode += 1
        case = self.cases.open_in(
            session,
            data,
            number=case_rows.next_number(session),
            reporter_id=actors.MONITORING,
            reporter_team=signal.source,
            # Unique: a second case for this group and episode cannot be stored, whatever races.
            submission_key=f"alert:{group.id}:{group.episode}",
        )
        audit.record(
            session, case, "alert_fired", actor=actors.MONITORING, at=now, data=signal.evidence
        )
        group.case_id = case.id
        group.status = FIRING
        group.fires = 1
        group.fingerprints = list(signal.fingerprints[:FINGERPRINTS_KEPT])
        group.first_seen = group.last_seen = now
        group.resolved_at = None
        group.line_due_at = None
        # Due no earlier than the card and first step queued above (open_in): the outbox sends
        # a case's rows in due order, and the line belongs under them.
        line = messages.panel(case, PANEL, panel_post_key(case.id))
        messages.queue(session, line, self.clock())
        log.info("alert opened a case", extra={"case_id": case.id, "group": group.id})
        return Outcome("opened", case.ref, case.id)

    def _repeated(
        self, session: Session, group: AlertGroup, case: Case, signal: Signal, now: datetime
    ) -> Outcome:
        new = self._count(group, signal, now)
        refired = group.status == RESOLVED
        group.status = FIRING
        if new or refired:
            # The trail records what is new (another alert in the group, or firing after a
            # resolve); a plain repeat only moves the count on the line in the thread.
            audit.record(
                session,
                case,
                "alert_repeated",
                actor=actors.MONITORING,
                at=now,
                data={
                    "fires": group.fires,
                    "refired": refired,
                    "new_fingerprints": new[:EVIDENCE_ALERTS],
                    "alerts": _alerts_of(signal, new),
                },
            )
        self._refresh_panel(session, group, case, now)
        return Outcome("repeated", case.ref, case.id)

    def _resolved(
        self,
        session: Session,
        group: AlertGroup,
        case: Case | None,
        signal: Signal,
        now: datetime,
    ) -> Outcome:
        was_firing = group.status == FIRING
        group.status = RESOLVED
        group.last_seen = now
        if case is None or not was_firing:
            return Outcome("ignored", case.ref if case else None)
        group.resolved_at = now
        audit.record(
            session,
            case,
            "alert_resolved",
            actor=actors.MONITORING,
            at=now,
            data={"fires": group.fires, "alerts": signal.evidence.get("alerts", [])},
        )
        self._refresh_panel(session, group, case, now)
        return Outcome("resolved", case.ref, case.id)

    def _quiet(
        self, session: Session, group: AlertGroup, case: Case, signal: Signal, now: datetime
    ) -> Outcome:
        """The case was closed or dismissed while the group still fires: no new case until the
        group has resolved; one line in the old thread per closing says so."""
        self._count(group, signal, now)
        key = f"alerts-quiet:{case.id}:{case.version}"
        if outbox.by_key(session, key) is None:
            text = tn("alert.quiet", case.language, group.fires)
            messages.queue(session, messages.thread_line(case, key, text, step=None), now)
            audit.record(
                session,
                case,
                "alert_suppressed",
                actor=actors.MONITORING,
                at=now,
                data={"fires": group.fires, "state": case.state},
            )
        return Outcome("quiet", case.ref, case.id)

    def _unknown_system(
        self, session: Session, group: AlertGroup, signal: Signal, now: datetime
    ) -> Outcome:
        """Not lost: posted in the triage channel once per firing episode."""
        group.last_seen = now
        if signal.status == RESOLVED:
            group.status = RESOLVED
            return Outcome("unknown_system")
        group.fires += 1
        if group.status == RESOLVED or group.episode == 0:
            group.episode += 1
            group.status = FIRING
            text = views.unknown_system(signal, self.workspace.alerts.system_label, self.lang)
            key = f"alerts-unknown:{group.id}:{group.episode}"
            post = messages.channel_post(self.workspace.triage_channel, key, text, case_id=None)
            messages.queue(session, post, now)
        log.warning(
            "alert for a system the catalogue does not know",
            extra={"group": group.id, "source": signal.source},
        )
        return Outcome("unknown_system")

    def _count(self, group: AlertGroup, signal: Signal, now: datetime) -> list[str]:
        """One more firing; returns the fingerprints not seen before in this group."""
        group.fires += 1
        group.last_seen = now
        known = set(group.fingerprints)
        new = [f for f in signal.fingerprints if f not in known]
        if new and len(group.fingerprints) < FINGERPRINTS_KEPT:
            group.fingerprints = [*group.fingerprints, *new][:FINGERPRINTS_KEPT]
        return new

    def _refresh_panel(
        self, session: Session, group: AlertGroup, case: Case, now: datetime
    ) -> None:
        """Queue an update of the line, unless one is already waiting and not yet claimed: that
        one is rendered again with this change, so it shows this repeat too. Updates of one
        case's line are due ``LINE_EVERY`` apart, so a storm makes a few edits a minute, not
        one per webhook (Slack limits ``chat.update`` too).

        The waiting row is locked: a worker claiming it meanwhile either waits for this
        transaction (PostgreSQL skips it until then) or has already claimed it, and then this
        repeat queues an update of its own."""
        waiting = session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.case_id == case.id,
                OutboxMessage.kind == "panel_update",
                OutboxMessage.status == outbox.PENDING,
                OutboxMessage.claimed_until.is_(None),
            )
            .with_for_update()
        ).all()
        post = panel_post_key(case.id)
        # The newest waiting update: an older one would be skipped for it once it is sent.
        pending = max(
            (row for row in waiting if row.target == post), key=lambda r: r.id, default=None
        )
        if pending is not None:
            messages.render_again(
                session, pending.id, messages.panel_refresh(case, PANEL, post, "")
            )
            return
        group.updates += 1
        due = now if group.line_due_at is None else max(now, group.line_due_at + LINE_EVERY)
        group.line_due_at = due
        update = messages.panel_refresh(case, PANEL, post, f"alerts:{group.updates}")
        messages.queue(session, update, now, not_before=due)


def panel_post_key(case_id: int) -> str:
    return f"alerts-panel:{case_id}"


def _alerts_of(signal: Signal, fingerprints: list[str]) -> list[dict[str, Any]]:
    wanted = set(fingerprints)
    alerts: list[dict[str, Any]] = signal.evidence.get("alerts", [])
    return [a for a in alerts if a.get("fingerprint") in wanted]
