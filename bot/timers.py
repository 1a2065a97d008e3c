"""Escalations and reminders: which timers a case runs, and firing them when they fall due.

The database is the source of truth for what is due (``storage.timers``); APScheduler only
ticks. Firing claims a timer with a lease, re-checks that the case still waits, resolves user
groups (a Slack call, outside any transaction), then in one transaction queues the messages in
the outbox, records the audit event and advances the timer. The outbox sends each message once,
re-checking just before sending that the case still waits; a Slack failure is retried there
without holding up other cases.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot import audit
from bot.clock import Clock
from bot.domain import Severity
from bot.escalation import Position, first, following, freeze, level_of, thaw
from bot.messages import t
from bot.outbox import Outbox
from bot.views.case import when
from bot.workflow import Action, CaseState
from bot.workspace import Workspace
from storage import cases as case_rows
from storage import outbox
from storage import timers as rows
from storage.db import Database
from storage.models import Case, Timer

log = logging.getLogger("ncbot.timers")

ESCALATION = "escalation"
APPROVAL = "approval_pending"
OVERDUE = "measure_overdue"
ALL_KINDS = (ESCALATION, APPROVAL, OVERDUE)

WAITING_STATE: dict[str, CaseState] = {
    ESCALATION: CaseState.REPORTED,
    APPROVAL: CaseState.MEASURE_PROPOSED,
    OVERDUE: CaseState.MEASURE_APPROVED,
}
"""A timer only fires while its case still waits in this state (checked again just before
sending)."""

STOPPED_BY: dict[Action, tuple[str, ...]] = {
    Action.ACKNOWLEDGE: (ESCALATION,),
    Action.APPROVE: (APPROVAL,),
    Action.REJECT: (APPROVAL,),
    Action.MARK_DONE: (OVERDUE,),
    Action.CLOSE: ALL_KINDS,
    Action.DISMISS: ALL_KINDS,
    Action.REOPEN: ALL_KINDS,
}
RETRY_RESOLVE = timedelta(seconds=30)


# --- starting and stopping (inside the caller's transaction; no Slack) ---


def start_for_report(session: Session, case: Case, workspace: Workspace, now: datetime) -> None:
    policy = workspace.escalation.policy_for(Severity(case.severity))
    if policy is None:
        return
    frozen = freeze(
        policy, timezone=workspace.timezone, critical=case.severity == Severity.CRITICAL
    )
    _start(session, case, ESCALATION, frozen, anchor=case.reported_at, now=now)


def on_transition(
    session: Session, case: Case, action: Action, workspace: Workspace, now: datetime
) -> None:
    """Stop what the decision answered; start what it now waits for."""
    rows.cancel(session, case.id, STOPPED_BY.get(action, ()))
    critical = case.severity == Severity.CRITICAL
    tz = workspace.timezone
    if action is Action.PROPOSE_MEASURE:
        frozen = freeze(workspace.escalation.timer(APPROVAL), timezone=tz, critical=critical)
        _start(session, case, APPROVAL, frozen, anchor=now, now=now)
    elif action is Action.APPROVE:
        target = case.details["measure"]["target_date"]
        # Overdue once the target day has ended where the organisation works.
        end_of_day = datetime.combine(
            datetime.fromisoformat(target).date() + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz)
        )
        frozen = freeze(workspace.escalation.timer(OVERDUE), timezone=tz, critical=critical)
        _start(session, case, OVERDUE, frozen, anchor=end_of_day, now=now)


def _start(
    session: Session,
    case: Case,
    kind: str,
    frozen: dict[str, Any],
    *,
    anchor: datetime,
    now: datetime,
) -> None:
    scheduled = first(thaw(frozen), anchor)
    if scheduled is None:
        return
    _, due = scheduled
    rows.start(
        session,
        key=f"{kind}:{case.id}:{case.version}",
        case_id=case.id,
        kind=kind,
        policy=frozen,
        anchor_at=anchor,
        due_at=due,
        now=now,
    )


# --- firing ---


class TimerEngine:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        workspace: Workspace,
        clock: Clock,
        deliveries: Outbox,
        *,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self.deliveries = deliveries
        self.lease = lease

    def fire_due(self, limit: int = 100) -> int:
        """Fire every timer due now; returns how many were claimed. Safe from any replica."""
        with self.db.transaction() as session:
            claimed = rows.claim_due(session, now=self.clock(), lease=self.lease, limit=limit)
        for timer in claimed:
            try:
                self._fire(timer)
            except Exception:
                log.exception(
                    "timer failed", extra={"timer_id": timer.id, "case_id": timer.case_id}
                )
                with self.db.transaction() as session:
                    rows.postpone(session, timer.id, self.clock() + RETRY_RESOLVE)
        return len(claimed)

    def _fire(self, timer: Timer) -> None:
        with self.db.transaction() as session:
            case = case_rows.by_id(session, timer.case_id)
        if case is None or case.state != WAITING_STATE[timer.kind]:
            with self.db.transaction() as session:
                rows.finish(session, timer.id, rows.CANCELLED)
            return
        policy = thaw(timer.policy)
        position = Position(timer.level, timer.repeat)
        level = level_of(policy, position)
        users, groups, channels = self._targets(level.notify, case)
        members = {group: self._members(group) for group in groups}
        now = self.clock()
        with self.db.transaction() as session:
            case = case_rows.by_id(session, timer.case_id, lock=True)
            assert case is not None
            if case.state != WAITING_STATE[timer.kind]:
                rows.finish(session, timer.id, rows.CANCELLED)
                return
            self._queue(session, case, timer, position, users, members, channels, now)
            nxt = following(policy, position, timer.anchor_at, now)
            rows.advance(
                session,
                timer.id,
                level=nxt[0].level if nxt else timer.level,
                repeat=nxt[0].repeat if nxt else timer.repeat,
                due_at=nxt[1] if nxt else None,
                fired_at=now,
            )
            outbox.enqueue(
                session,
                dedupe_key=f"card:{case.id}:timer{timer.id}:{timer.fired}",
                kind="card_update",
                target=case.channel,
                case_id=case.id,
                now=now,
            )
        self.deliveries.deliver_due(case_id=case.id)

    def _targets(
        self, notify: tuple[str, ...], case: Case
    ) -> tuple[list[str], list[str], list[str]]:
        users: list[str] = []
        groups: list[str] = []
        channels: list[str] = []
        measure = case.details.get("measure") or {}
        symbolic = {
            "triage": list(self.workspace.roles.triage),
            "approvers": [
                a for a in self.workspace.roles.approvers if a != measure.get("proposer")
            ],
            "admins": list(self.workspace.roles.admins),
            "owner": [case.owner_id] if case.owner_id else [],
            "measure_owner": [measure["owner"]] if measure.get("owner") else [],
            "reporter": [case.reporter_id],
        }
        for target in notify:
            if target in symbolic:
                users.extend(symbolic[target])
            elif target.startswith("S"):
                groups.append(target)
            elif target.startswith(("C", "G")):
                channels.append(target)
            else:
                users.append(target)
        return list(dict.fromkeys(users)), groups, channels

    def _members(self, group: str) -> list[str]:
        response = self.client.usergroups_users_list(usergroup=group)
        users: list[Any] = response.get("users", [])
        return [str(user) for user in users]

    def _queue(
        self,
        session: Session,
        case: Case,
        timer: Timer,
        position: Position,
        users: list[str],
        members: dict[str, list[str]],
        channels: list[str],
        now: datetime,
    ) -> None:
        lang = case.language
        link = case.details.get("permalink")
        ref = f"<{link}|{case.ref}>" if link else f"*{case.ref}*"
        measure = case.details.get("measure") or {}
        params = {
            "ref": ref,
            "severity": t(f"severity.{case.severity}", lang),
            "since": when(timer.anchor_at),
            "level": position.level + 1,
            "measure": t(f"measure.{measure.get('measure', 'withdraw')}", lang),
            "target": measure.get("target_date", ""),
        }
        text = t(f"timer.{timer.kind}", lang, **params)
        step = f"timer:{timer.id}:{position.level}:{position.repeat}"
        guard = {"while_state": WAITING_STATE[timer.kind].value}
        recipients = list(dict.fromkeys([*users, *(m for ms in members.values() for m in ms)]))
        for user_id in recipients:
            outbox.enqueue(
                session,
                dedupe_key=f"{step}:dm:{user_id}",
                kind="dm",
                target=user_id,
                case_id=case.id,
                now=now,
                payload={"text": text, "step": step, **guard},
            )
        for channel in channels:
            outbox.enqueue(
                session,
                dedupe_key=f"{step}:ch:{channel}",
                kind="channel",
                target=channel,
                case_id=case.id,
                now=now,
                payload={"text": text, "step": step, **guard},
            )
        named = (
            [f"<@{u}>" for u in users]
            + [f"<!subteam^{g}>" for g in members]
            + [f"<#{c}>" for c in channels]
        )
        line = t(f"timer.{timer.kind}.thread", lang, **params, targets=", ".join(named) or "—")
        outbox.enqueue(
            session,
            dedupe_key=f"{step}:thread",
            kind="thread",
            target=case.channel,
            in_thread=True,
            case_id=case.id,
            now=now,
            payload={"text": line, "step": step, **guard},
        )
        audit.record(
            session,
            case,
            "escalated" if timer.kind == ESCALATION else "reminded",
            actor=None,
            at=now,
            data={
                "timer": timer.kind,
                "level": position.level + 1,
                "repeat": position.repeat,
                "due_at": timer.due_at,
                "users": recipients,
                "usergroups": list(members),
                "channels": channels,
            },
        )
