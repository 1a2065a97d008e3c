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
import threading
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy.orm import Session

from bot.audit import trail as audit
from bot.cases import actors, panels
from bot.cases.domain import Severity
from bot.cases.state import INITIAL_REPORT
from bot.cases.views import when
from bot.cases.workflow import Action, CaseState
from bot.clock import Clock
from bot.delivery import messages
from bot.delivery.slack_api import classify
from bot.messages import has, t
from bot.ops import metrics
from bot.ops.request_context import case_scope
from bot.ops.workspace import Workspace
from bot.timers import views as escalation_views
from bot.timers.policy import (
    Position,
    first,
    following,
    freeze,
    level_of,
    thaw,
    total_firings,
)
from bot.views.text import safe
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import notices as notice_rows
from storage import outbox as outbox_rows
from storage import timers as rows
from storage.db import Database
from storage.models import Case, MeasureRow, PartnerNotice, Timer

log = logging.getLogger("ncbot.timers")

ESCALATION = "escalation"
APPROVAL = "approval_pending"
OVERDUE = "measure_overdue"
NOTICE = "notice_receipt"
DEADLINE = "art73_report"
REMINDERS_PANEL = "reminders"
ESCALATION_ACTIONS = "escalation_actions"  # the block id prefix of an escalation's button
ALL_KINDS = (ESCALATION, APPROVAL, OVERDUE)  # case timers; notice timers stop with their notice

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
    Action.CLOSE: (*ALL_KINDS, DEADLINE),
    Action.DISMISS: (*ALL_KINDS, DEADLINE),
    Action.REOPEN: ALL_KINDS,
}
# Decisions after which what is approved and not yet carried out can fall overdue: an approval,
# one measure of several carried out, an added measure rejected while an earlier one is open.
OVERDUE_AFTER = (Action.APPROVE, Action.MARK_DONE, Action.REJECT)
RETRY_RESOLVE = timedelta(seconds=30)
# Timers fire in bursts (a sweep after an outage, many cases reported together) and each firing
# that notifies a user group asks Slack for its members: ``usergroups.users.list`` is Tier 2,
# about 20 a minute per workspace. Members change rarely, so an answer is reused this long.
GROUP_MEMBERS_TTL = timedelta(minutes=2)


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
    if action is Action.ACKNOWLEDGE:
        _acknowledge_copies(session, case, now)
    critical = case.severity == Severity.CRITICAL
    tz = workspace.timezone
    if action is Action.PROPOSE_MEASURE:
        frozen = freeze(workspace.escalation.timer(APPROVAL), timezone=tz, critical=critical)
        _start(session, case, APPROVAL, frozen, anchor=now, now=now)
    elif case.state == CaseState.MEASURE_APPROVED and action in OVERDUE_AFTER:
        _start_overdue(session, case, workspace, now)


def on_severity_changed(
    session: Session, case: Case, workspace: Workspace, now: datetime, key_suffix: str
) -> None:
    """The new severity's escalation policy applies from the moment of the change: its levels
    count from ``now``; levels already past under the old policy are not replayed. Only a case
    nobody acknowledged yet escalates."""
    rows.cancel(session, case.id, (ESCALATION,))
    if case.state != CaseState.REPORTED:
        return
    policy = workspace.escalation.policy_for(Severity(case.severity))
    if policy is None:
        return
    frozen = freeze(
        policy, timezone=workspace.timezone, critical=case.severity == Severity.CRITICAL
    )
    _start(session, case, ESCALATION, frozen, anchor=now, now=now, key_suffix=key_suffix)


def on_target_date_changed(
    session: Session, case: Case, workspace: Workspace, now: datetime, key_suffix: str
) -> None:
    """The overdue reminders move with the measure's target date."""
    rows.cancel(session, case.id, (OVERDUE,))
    if case.state == CaseState.MEASURE_APPROVED:
        _start_overdue(session, case, workspace, now, key_suffix)


def on_measure_changed(session: Session, case: Case, workspace: Workspace, now: datetime) -> None:
    """A measure amended or added waits for approval again: whatever it waited for before
    (approval, its target date) starts over from now."""
    rows.cancel(session, case.id, (APPROVAL, OVERDUE))
    on_transition(session, case, Action.PROPOSE_MEASURE, workspace, now)


def _start_overdue(
    session: Session, case: Case, workspace: Workspace, now: datetime, key_suffix: str = ""
) -> None:
    """One overdue timer per measure approved and not yet carried out (a case may hold
    several), each from the end of its own target day."""
    tz = workspace.timezone
    critical = case.severity == Severity.CRITICAL
    frozen = freeze(workspace.escalation.timer(OVERDUE), timezone=tz, critical=critical)
    waiting = case.measures_to_carry_out
    for row in waiting:
        # Overdue once the target day has ended where the organisation works.
        end_of_day = datetime.combine(
            row.measure.target_date + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz)
        )
        # The first measure keeps the key it always had; a further one is told apart by its
        # position.
        suffix = ":".join(
            p for p in (key_suffix, f"m{row.position}" if row is not waiting[0] else "") if p
        )
        _start(session, case, OVERDUE, frozen, anchor=end_of_day, now=now, key_suffix=suffix)


def _acknowledge_copies(session: Session, case: Case, now: datetime) -> None:
    """Every escalation DM and channel post already sent loses its Acknowledge button and says
    who acknowledged: wherever someone was told, they see it is taken care of."""
    record = case.record()
    for row in outbox_rows.for_case(session, case.id):
        blocks = row.payload.get("blocks") or []
        if row.kind not in (messages.DM.name, messages.CHANNEL.name):
            continue
        if row.status != outbox_rows.SENT or not any(
            str(b.get("block_id", "")).startswith(ESCALATION_ACTIONS) for b in blocks
        ):
            continue
        done = escalation_views.acknowledged(blocks, record, case.language)
        text = str(row.payload.get("text", ""))
        edit = messages.copy_refresh(case.id, row.dedupe_key, text, done, f"v{case.version}")
        messages.queue(session, edit, now)


def start_for_notice(
    session: Session, case: Case, notice: PartnerNotice, workspace: Workspace, now: datetime
) -> None:
    """When a notice reached the partner: remind them if no receipt follows."""
    frozen = freeze(workspace.escalation.timer(NOTICE), timezone=workspace.timezone, critical=False)
    scheduled = first(thaw(frozen), now)
    if scheduled is None:
        return
    key = f"{NOTICE}:{notice.id}"
    rows.start(
        session,
        key=key,
        case_id=case.id,
        kind=NOTICE,
        policy={**frozen, "subject": {"notice_id": notice.id}},
        anchor_at=now,
        due_at=scheduled[1],
        now=now,
    )
    # Sent again after it failed (Retry): reminders it had stopped for the failure count anew.
    rows.resume(session, key, anchor_at=now, due_at=scheduled[1])


def stop_notice(session: Session, notice_id: int) -> None:
    rows.cancel_key(session, f"{NOTICE}:{notice_id}")


def start_deadline(
    session: Session,
    case: Case,
    workspace: Workspace,
    deadline: datetime,
    now: datetime,
    *,
    key_suffix: str = "",
) -> None:
    """Art. 73: remind before the report deadline, escalate once it has passed."""
    policy = workspace.escalation.timer(DEADLINE)
    frozen = freeze(policy, timezone=workspace.timezone, critical=True)  # deadlines never wait
    scheduled = first(thaw(frozen), deadline)
    if scheduled is None:
        return
    rows.start(
        session,
        key=f"{DEADLINE}:{case.id}:{case.version}:{key_suffix}",
        case_id=case.id,
        kind=DEADLINE,
        policy=frozen,
        anchor_at=deadline,
        due_at=scheduled[1],
        now=now,
    )


def stop_deadline(session: Session, case_id: int) -> None:
    rows.cancel(session, case_id, (DEADLINE,))


def _start(
    session: Session,
    case: Case,
    kind: str,
    frozen: dict[str, Any],
    *,
    anchor: datetime,
    now: datetime,
    key_suffix: str = "",
) -> None:
    """``key_suffix`` tells apart timers started again at the same case version (a change
    that does not move the case on)."""
    scheduled = first(thaw(frozen), anchor)
    if scheduled is None:
        return
    _, due = scheduled
    rows.start(
        session,
        key=f"{kind}:{case.id}:{case.version}" + (f":{key_suffix}" if key_suffix else ""),
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
        deliver: Callable[[int], object],
        *,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self.deliver = deliver  # sends what a firing queued for a case, right away
        self.lease = lease
        self._groups: dict[str, tuple[datetime, list[str]]] = {}  # group -> (asked at, members)
        self._groups_lock = threading.Lock()

    def fire_due(self, limit: int = 100) -> int:
        """Fire every timer due now; returns how many were claimed. Safe from any replica."""
        with self.db.transaction() as session:
            claimed = rows.claim_due(session, now=self.clock(), lease=self.lease, limit=limit)
        for timer in claimed:
            with case_scope(timer.case_id):
                try:
                    self._fire(timer)
                except Exception as exc:
                    # A 429 (a user group's members, say) waits Retry-After, not a fixed 30 s.
                    failure = classify(exc)
                    wait = RETRY_RESOLVE
                    if failure.kind == "rate_limited":
                        wait = timedelta(seconds=max(failure.retry_after, 1.0))
                        log.info("timer rate limited", extra={"timer_id": timer.id})
                    else:
                        log.exception("timer failed", extra={"timer_id": timer.id})
                    with self.db.transaction() as session:
                        rows.postpone(session, timer.id, self.clock() + wait)
        return len(claimed)

    def _fire(self, timer: Timer) -> None:
        with self.db.transaction() as session:
            case = case_rows.by_id(session, timer.case_id)
            notice = self._notice(session, timer)
            waits = case is not None and self._still_waits(case, timer, notice)
        if case is None or not waits:
            with self.db.transaction() as session:
                rows.finish(session, timer.id, rows.CANCELLED)
            return
        policy = thaw(timer.policy)
        position = Position(timer.level, timer.repeat)
        level = level_of(policy, position)
        users, groups, channels = self._targets(level.notify, case, notice, timer.kind)
        members = {group: self._members(group) for group in groups}
        now = self.clock()
        with self.db.transaction() as session:
            case = case_rows.by_id(session, timer.case_id, lock=True)
            assert case is not None
            notice = self._notice(session, timer)
            if not self._still_waits(case, timer, notice):
                rows.finish(session, timer.id, rows.CANCELLED)
                return
            nxt = following(policy, position, timer.anchor_at, now)
            advanced = rows.advance(
                session,
                timer.id,
                level=nxt[0].level if nxt else timer.level,
                repeat=nxt[0].repeat if nxt else timer.repeat,
                due_at=nxt[1] if nxt else None,
                fired_at=now,
                fired_before=timer.fired,
            )
            if not advanced:  # our lease ran out and another replica fired this level
                return
            self._queue(session, case, timer, notice, position, users, members, channels, now)
            if notice is not None and "partner_channel" in level.notify:
                self._email_partner(session, case, notice, position, timer, now)
            refresh = messages.card_refresh(case, f"timer{timer.id}:{timer.fired}")
            messages.queue(session, refresh, now)
        if timer.kind == ESCALATION:
            metrics.ESCALATIONS.inc()
        else:
            metrics.REMINDERS.labels(timer=timer.kind).inc()
        self.deliver(case.id)

    def _email_partner(
        self,
        session: Session,
        case: Case,
        notice: PartnerNotice,
        position: Position,
        timer: Timer,
        now: datetime,
    ) -> None:
        """A partner read by e-mail gets the notice again at each of its addresses, marked as a
        reminder, with a fresh receipt link (valid ``RECEIPT_DAYS`` from now): the first one's
        may have expired. Skipped when the notice was settled before it goes out. An address
        the relay refused for good is not written to again (until Retry sends it again)."""
        partner = catalogue_rows.partner(session, notice.partner_id)
        # One per firing: a timer counting anew (the notice sent again after it failed) fires
        # its first level again, and that reminder is a new e-mail, not the old one again.
        reason = f"reminder:{timer.id}:{timer.fired}"
        refused = messages.refused_addresses(session, notice)
        for address in partner.emails if partner else []:
            if address.lower() in refused:
                continue
            reminder = messages.email_notice(
                case, notice, address, self.workspace.provider, reason=reason
            )
            messages.queue(session, reminder, now)

    def _notice(self, session: Session, timer: Timer) -> PartnerNotice | None:
        subject = timer.policy.get("subject") or {}
        return notice_rows.by_id(session, subject["notice_id"]) if "notice_id" in subject else None

    def _still_waits(self, case: Case, timer: Timer, notice: PartnerNotice | None) -> bool:
        if timer.kind == NOTICE:
            return notice is not None and notice.status == notice_rows.SENT
        if timer.kind == DEADLINE:
            reported = INITIAL_REPORT in case.details.duties
            return not reported and case.state not in (CaseState.CLOSED, CaseState.DISMISSED)
        return case.state == WAITING_STATE[timer.kind]

    def _guard(self, timer: Timer, notice: PartnerNotice | None) -> dict[str, Any]:
        """What the outbox re-checks just before sending, so an answer that came in between
        (an acknowledgement, a receipt) silences the reminder."""
        if timer.kind == NOTICE and notice is not None:
            return {"while_notice": notice.id}
        if timer.kind == DEADLINE:
            return {"while_duty_open": "initial_report"}
        return {"while_state": WAITING_STATE[timer.kind].value}

    def _targets(
        self, notify: list[str], case: Case, notice: PartnerNotice | None, kind: str
    ) -> tuple[list[str], list[str], list[str]]:
        users: list[str] = []
        groups: list[str] = []
        channels: list[str] = []
        measure = _measure_waited_for(case, kind)
        proposer = measure.proposer_id if measure else None
        symbolic = {
            "triage": list(self.workspace.roles.triage),
            "approvers": [a for a in self.workspace.roles.approvers if a != proposer],
            "admins": list(self.workspace.roles.admins),
            "owner": [case.owner_id] if case.owner_id else [],
            "measure_owner": [measure.owner_id] if measure else [],
            # Monitoring cannot be DMed; the line every escalation posts in the thread reaches
            # the thread, which is where a report by monitoring is followed.
            "reporter": [] if actors.is_system(case.reporter_id) else [case.reporter_id],
        }
        for target in notify:
            if target == "partner_channel":  # an e-mail partner is e-mailed (``_emailed``)
                channel = (notice.slack_channel or notice.channel) if notice else None
                channels.extend([channel] if channel else [])
            elif target in symbolic:
                users.extend(symbolic[target])
            elif target.startswith("S"):
                groups.append(target)
            elif target.startswith(("C", "G")):
                channels.append(target)
            else:
                users.append(target)
        return list(dict.fromkeys(users)), groups, channels

    def _members(self, group: str) -> list[str]:
        """The group's members, asked of Slack at most once per ``GROUP_MEMBERS_TTL``."""
        now = self.clock()
        with self._groups_lock:
            cached = self._groups.get(group)
        if cached is not None and now - cached[0] < GROUP_MEMBERS_TTL:
            return list(cached[1])
        response = self.client.usergroups_users_list(usergroup=group)
        users: list[Any] = response.get("users", [])
        members = [str(user) for user in users]
        with self._groups_lock:
            self._groups[group] = (now, members)
        return list(members)

    def _queue(
        self,
        session: Session,
        case: Case,
        timer: Timer,
        notice: PartnerNotice | None,
        position: Position,
        users: list[str],
        members: dict[str, list[str]],
        channels: list[str],
        now: datetime,
    ) -> None:
        lang = case.language
        link = case.details.permalink
        ref = f"<{link}|{case.ref}>" if link else f"*{case.ref}*"
        waited = _measure_waited_for(case, timer.kind)
        measure = waited.measure if waited else None
        params = {
            "ref": ref,
            "severity": t(f"severity.{case.severity}", lang),
            "since": when(timer.anchor_at),
            # The last day on time, as the panel says it (the anchor is the instant after it).
            "deadline": (
                (
                    timer.anchor_at.astimezone(ZoneInfo(self.workspace.timezone))
                    - timedelta(seconds=1)
                )
                .date()
                .isoformat()
            ),
            "level": position.level + 1,
            "measure": t(f"measure.{measure.measure if measure else 'withdraw'}", lang),
            "target": measure.target_date.isoformat() if measure else "",
            "partner": notice.partner_id if notice else "",
        }
        if notice is not None:
            partner = catalogue_rows.partner(session, notice.partner_id)
            params["partner"] = safe(partner.name, 200) if partner else notice.partner_id
        late = timer.kind == DEADLINE and now >= timer.anchor_at
        text = t(f"timer.{timer.kind}{'.late' if late else ''}", lang, **params)
        channel_key = f"timer.{timer.kind}.channel"
        # A partner's channel hears it in the partner's language.
        channel_lang = (notice.language if notice else None) or lang
        channel_params = {
            **params,
            "severity": t(f"severity.{case.severity}", channel_lang),
            "measure": t(f"measure.{measure.measure if measure else 'withdraw'}", channel_lang),
        }
        channel_text = t(channel_key, channel_lang, **channel_params) if has(channel_key) else text
        step = f"timer:{timer.id}:{position.level}:{position.repeat}"
        guard = self._guard(timer, notice)
        recipients = list(dict.fromkeys([*users, *(m for ms in members.values() for m in ms)]))
        blocks = channel_blocks = None
        if timer.kind == ESCALATION:  # say what the case is, and let them act where they are
            record = case.record()
            name = catalogue_rows.system_name(session, case.system_id)
            how_long = escalation_views.waited(now - timer.anchor_at, lang)
            blocks = escalation_views.escalation(
                record, name, text, how_long, lang, position.level + 1
            )
            channel_blocks = escalation_views.escalation(
                record, name, channel_text, how_long, lang, position.level + 1
            )
        for user_id in recipients:
            key = f"{step}:dm:{user_id}"
            dm = messages.dm(user_id, key, text, case_id=case.id, blocks=blocks, step=step, **guard)
            messages.queue(session, dm, now)
        for channel in channels:
            key = f"{step}:ch:{channel}"
            post = messages.channel_post(
                channel,
                key,
                channel_text,
                case_id=case.id,
                blocks=channel_blocks,
                step=step,
                **guard,
            )
            messages.queue(session, post, now)
        named = (
            [f"<@{u}>" for u in users]
            + [f"<!subteam^{g}>" for g in members]
            + [f"<#{c}>" for c in channels]
        )
        line = t(f"timer.{timer.kind}.thread", lang, **params, targets=", ".join(named) or "—")
        progress = t(
            "timer.progress",
            lang,
            level=position.level + 1,
            n=timer.fired + 1,
            total=total_firings(thaw(timer.policy)),
            when=when(now),
        )
        # One line per timer in one thread panel, kept current: the thread does not fill up
        # with reminders, while DMs and channel posts above still notify each time.
        case.details = case.details.with_reminder(str(timer.id), f"{line}\n{progress}")
        panels.open_panel(session, case, REMINDERS_PANEL, now, f"timer{timer.id}:{timer.fired}")
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


def _measure_waited_for(case: Case, kind: str) -> MeasureRow | None:
    """The measure a reminder is about: for an overdue one, the first still to be carried out
    (a case may hold several); else the one in force."""
    waiting = case.measures_to_carry_out if kind == OVERDUE else []
    return waiting[0] if waiting else case.measure
