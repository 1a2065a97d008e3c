"""Deliver what the outbox owes: exactly once, whatever crashes or Slack does in between.

Each row is claimed with a lease (committed before sending), sent with no transaction open, and
recorded afterwards. A message that may have landed without our knowing (timeout, 5xx, a crash
between Slack's answer and our commit) is tagged with message metadata holding its row id, so a
later attempt first looks for that id in the channel's history and records what it finds
instead of posting twice.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.audit import trail as audit
from bot.cases.state import CaseRecord
from bot.clock import Clock
from bot.delivery.mail import MAIL_REFUSALS, MailSettings, classify_mail
from bot.delivery.messages import (
    CARD_POST,
    CARD_UPDATE,
    EMAIL_AUTHORITY,
    EMAIL_KINDS,
    EMAIL_NOTICE,
    KINDS,
    PARTNER_NOTICE,
    REPORTER_NOTICE,
    Lane,
)
from bot.delivery.senders import METADATA_EVENT, NotYet, Senders
from bot.delivery.slack_api import Failure, RateLimited, TokenUnavailable, classify
from bot.ops import metrics
from bot.ops.request_context import ContextExecutor, case_scope
from bot.ops.workspace import Workspace
from storage import cases as case_rows
from storage import notices as notice_rows
from storage import outbox as rows
from storage.db import Database
from storage.models import OutboxMessage

log = logging.getLogger("ncbot.outbox")

WAIT_FOR_CARD = timedelta(seconds=2)
HISTORY_MARGIN_SECONDS = 300
HISTORY_PAGES = 10  # up to 2 000 messages since the row was created
NOTHING_SENT = frozenset(
    {"ratelimited", "waiting_for_card", "waiting_for_step", "waiting_for_newer"}
)
NOTICE_KINDS = frozenset({PARTNER_NOTICE.name, EMAIL_NOTICE.name})  # their delivery moves a notice
FAN_OUT = 16  # lanes served at once; within one lane, messages keep their order


class Outbox:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        workspace: Workspace,
        clock: Clock,
        *,
        lease: timedelta = timedelta(seconds=60),
        bot_user_id: str | None = None,
        mail: MailSettings | None = None,
    ) -> None:
        self.bot_user_id = bot_user_id
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self.lease = lease
        self.senders = Senders(db, client, workspace, clock, bot_user_id, mail)
        # One lane at a time in this process: a listener's delivery and the sweep may claim two
        # edits of one card at once, and the older must not land after the newer.
        self._lanes: dict[str, threading.Lock] = {}
        self._lanes_lock = threading.Lock()
        # Lanes keep the caller's request id (and case id) on their log lines.
        self._pool = ContextExecutor(
            ThreadPoolExecutor(max_workers=FAN_OUT, thread_name_prefix="outbox")
        )

    def deliver_due(self, *, case_id: int | None = None, limit: int = 50) -> int:
        """Send what is due now; returns how many rows were claimed. Safe to call from any
        replica or thread at any time."""
        with self.db.transaction() as session:
            claimed = rows.claim_due(
                session, now=self.clock(), lease=self.lease, limit=limit, case_id=case_id
            )
        by_channel: dict[str, list[OutboxMessage]] = {}
        for row in claimed:
            by_channel.setdefault(self._lane(row), []).append(row)
        if len(by_channel) <= 1:
            for lane, group in by_channel.items():
                self._deliver_lane(lane, group)
        else:
            for future in [
                self._pool.submit(self._deliver_lane, lane, g) for lane, g in by_channel.items()
            ]:
                future.result()
        return len(claimed)

    def _deliver_lane(self, lane: str, group: list[OutboxMessage]) -> None:
        """Deliver ``group`` while no other thread delivers the same lane: the check before an
        edit (is a newer one sent? does it change anything?) and the edit stay together."""
        with self._lanes_lock:
            lock = self._lanes.setdefault(lane, threading.Lock())
        with lock:
            self._deliver_in_order(group)

    def _lane(self, row: OutboxMessage) -> str:
        """Rows that go out one after another. A case's own messages (card, thread, reporter
        notice, updates) keep their order, since later ones need the card's ``ts``; partner
        notices and reminders go out per channel, in parallel with everything else."""
        if KINDS[row.kind].lane is Lane.CHANNEL or row.case_id is None:
            return f"channel:{row.target}"
        return f"case:{row.case_id}"

    def _deliver_in_order(self, group: list[OutboxMessage]) -> None:
        """One channel's messages, oldest first; a rate limit defers the rest of the channel's
        batch instead of sending into a wall of 429s, and other channels go on meanwhile."""
        for index, row in enumerate(group):
            with self.db.transaction() as session:
                ours = rows.renew(session, row, now=self.clock(), lease=self.lease)
            if not ours:
                continue  # another worker claimed it after our lease ran out: it sends it
            with case_scope(row.case_id):
                failure = self._deliver(row)
            if failure is not None and failure.kind == "rate_limited":
                until = self.clock() + timedelta(seconds=max(failure.retry_after, 1.0))
                for waiting in group[index + 1 :]:
                    self._retry(waiting, until, "ratelimited")
                return

    def _deliver(self, row: OutboxMessage) -> Failure | None:
        case = self._case(row.case_id)
        if KINDS[row.kind].edits:
            with self.db.read() as session:
                newer = rows.newer_edit(session, row)
            if newer == rows.PENDING:
                # Let the newer edit go first: sent, it makes this one moot; failed for good,
                # this one still shows the post as it was meant to be before.
                self._retry(row, self.clock() + WAIT_FOR_CARD, "waiting_for_newer")
                return None
        else:
            newer = None
        skip = "superseded" if newer == rows.SENT else self._why_not(row, case)
        if skip is not None:
            with self.db.transaction() as session:
                rows.mark_skipped(session, row.id, reason=skip)
            return None
        if KINDS[row.kind].needs_card and (case is None or case.card_ts is None):
            self._retry(row, self.clock() + WAIT_FOR_CARD, "waiting_for_card")
            return None
        try:
            found = self._already_posted(row, case) if self._may_have_landed(row) else None
            channel, ts = found or self.senders.send(row, case)
        except NotYet:
            self._retry(row, self.clock() + WAIT_FOR_CARD, "waiting_for_step")
            return None
        except Exception as exc:
            expected = (SlackApiError, OSError, RateLimited, TokenUnavailable, *MAIL_REFUSALS)
            if not isinstance(exc, expected):
                log.exception("unexpected failure sending", extra={"outbox_id": row.id})
            failure = classify_mail(exc) if row.kind in EMAIL_KINDS else classify(exc)
            self._failed(row, failure)
            return failure
        self._record(row, channel, ts)
        metrics.OUTBOX_DELIVERED.labels(kind=row.kind, outcome="sent").inc()
        if row.kind in NOTICE_KINDS and row.case_id is not None:
            # The Homes list unsettled notices with when they went out; the card may not change.
            self.senders.case_shown(row.case_id)
        if row.kind == CARD_POST.name and case is not None and ts is not None:
            self.senders.remember_permalink(case.id, channel, ts)
        return None

    def _may_have_landed(self, row: OutboxMessage) -> bool:
        """Whether an earlier attempt may have posted this row. A 429 or a wait for the card
        posted nothing (and the attempt before it already looked), so no history call then."""
        return row.attempts > 1 and row.last_error not in NOTHING_SENT

    def _why_not(self, row: OutboxMessage, case: CaseRecord | None) -> str | None:
        """Why ``row`` is no longer worth sending, if it is not: an edit that would show exactly
        what the post shows already (a transition queues the card's refresh from several places;
        Slack counts each ``chat.update``), or a reminder already answered. (An edit that a newer
        edit of the same post replaces is handled in ``_deliver``.)"""
        if KINDS[row.kind].edits:
            with self.db.read() as session:
                shown = rows.last_shown(session, row)
            if shown is not None and _content(shown) == _content(row.payload):
                if row.kind == CARD_UPDATE.name and case is not None:
                    self.senders.case_shown(case.id)  # the App Home may still differ
                return "unchanged"
            return None
        return None if self._still_wanted(row, case) else "case_moved_on"

    def _still_wanted(self, row: OutboxMessage, case: CaseRecord | None) -> bool:
        """Reminders re-check, just before sending, that nobody answered in the meantime."""
        state = row.payload.get("while_state")
        if state and (case is None or case.state != state):
            return False
        duty = row.payload.get("while_duty_open")
        if duty and (case is None or duty in case.details.duties):
            return False
        notice_id = row.payload.get("while_notice")
        if notice_id is not None:
            with self.db.transaction() as session:
                notice = notice_rows.by_id(session, int(notice_id))
            # QUEUED: a reminder the relay refused, requeued by Retry (it moves the notice on).
            return notice is not None and notice.status in (notice_rows.SENT, notice_rows.QUEUED)
        return True

    def _already_posted(
        self, row: OutboxMessage, case: CaseRecord | None
    ) -> tuple[str, str] | None:
        """Look for this row's metadata in the channel since the row was created."""
        if KINDS[row.kind].edits or row.kind == REPORTER_NOTICE.name:
            return None  # an update is idempotent; a reporter notice is not worth a second look
        if row.kind in EMAIL_KINDS:
            return None  # no history to look in: the same Message-ID goes again (docs)
        channel = (
            case.channel if row.kind == CARD_POST.name and case else self.senders.channel_for(row)
        )
        # A margin for clock skew between us and Slack: a message found twice is harmless here.
        oldest = f"{row.created_at.timestamp() - HISTORY_MARGIN_SECONDS:.6f}"
        cursor: str | None = None
        for _ in range(HISTORY_PAGES):  # a busy channel: page back to the row's creation
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": oldest,
                "include_all_metadata": True,
                "limit": 200,
            }
            if cursor:
                args["cursor"] = cursor
            if row.in_thread and case is not None and case.card_ts:
                response = self.client.conversations_replies(ts=case.card_ts, **args)
            else:
                response = self.client.conversations_history(**args)
            messages: list[dict[str, Any]] = response.get("messages", [])
            for message in messages:
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == METADATA_EVENT
                    and (metadata.get("event_payload") or {}).get("outbox_id") == row.id
                ):
                    return channel, str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return None

    def _case(self, case_id: int | None) -> CaseRecord | None:
        if case_id is None:
            return None
        with self.db.read() as session:
            case = case_rows.by_id(session, case_id)
            return case.record() if case is not None else None

    def _record(self, row: OutboxMessage, channel: str, ts: str | None) -> None:
        now = self.clock()
        by_email = row.kind in EMAIL_KINDS
        with self.db.transaction() as session:
            # An e-mail keeps its address in ``target`` and its Message-ID in the payload.
            rows.mark_sent(
                session,
                row.id,
                channel="email" if by_email else channel,
                ts=None if by_email else ts,
                now=now,
            )
            rows.wake_waiting(session, row, now)
            if row.case_id is None:
                return
            case = case_rows.by_id(session, row.case_id, lock=True)
            assert case is not None
            if row.kind == CARD_POST.name:
                case.card_ts = ts
            if row.kind in NOTICE_KINDS and "notice_id" in row.payload:
                self.senders.notice_delivered(
                    session,
                    case,
                    int(row.payload["notice_id"]),
                    channel,
                    ts,
                    now,
                    by_email=by_email,
                )
            if row.kind == EMAIL_AUTHORITY.name:
                self.senders.authority_emailed(session, case, row, now)
            if not KINDS[row.kind].edits:
                audit.record(
                    session,
                    case,
                    "message_sent",
                    actor=None,
                    at=now,
                    data={
                        "kind": row.kind,
                        "channel": channel,
                        "ts": ts,
                        "outbox_id": row.id,
                        "step": row.payload.get("step"),
                        **(
                            {"notice": row.payload.get("notice_id"), "message_id": ts}
                            if by_email
                            else {}
                        ),
                    },
                )

    def _retry(self, row: OutboxMessage, when: datetime, error: str) -> None:
        if error in NOTHING_SENT and self._may_have_landed(row):
            # This attempt sent nothing, but an earlier one may have: keep that doubt, so the
            # next attempt still looks in the history before posting.
            error = row.last_error or "uncertain"
        with self.db.transaction() as session:
            rows.mark_retry(session, row.id, not_before=when, error=error)

    def _failed(self, row: OutboxMessage, failure: Failure) -> None:
        now = self.clock()
        outcome = "failed" if failure.kind == "permanent" else "retry"
        metrics.OUTBOX_DELIVERED.labels(kind=row.kind, outcome=outcome).inc()
        log.warning(
            "mail relay refused outbox message"
            if row.kind in EMAIL_KINDS
            else "slack refused outbox message",
            extra={
                "outbox_id": row.id,
                "kind": row.kind,
                "error": failure.error,
                "case_id": row.case_id,
            },
        )
        if failure.kind == "rate_limited":
            self._retry(row, now + timedelta(seconds=max(failure.retry_after, 1.0)), failure.error)
        elif failure.kind == "uncertain":
            backoff = timedelta(seconds=min(2 ** min(row.attempts, 8), 300))
            self._retry(row, now + backoff, failure.error)
        else:
            with self.db.transaction() as session:
                rows.mark_failed(session, row.id, error=failure.error)
                if row.kind in NOTICE_KINDS and row.case_id is not None:
                    self.senders.notice_failed(session, row, failure.error, now)
                if row.kind == EMAIL_AUTHORITY.name and row.case_id is not None:
                    self.senders.authority_failed(session, row, failure.error, now)


def _content(payload: dict[str, Any]) -> tuple[object, object]:
    """What a person sees of a message: its text and blocks."""
    return payload.get("text", ""), payload.get("blocks")
