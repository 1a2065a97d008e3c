"""Deliver what the outbox owes: exactly once, whatever crashes or Slack does in between.

Each row is claimed with a lease (committed before sending), sent with no transaction open, and
recorded afterwards. A message that may have landed without our knowing (timeout, 5xx, a crash
between Slack's answer and our commit) is tagged with message metadata holding its row id, so a
later attempt first looks for that id in the channel's history and records what it finds
instead of posting twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot import audit
from bot.clock import Clock
from bot.messages import t
from bot.slack_api import Failure, classify
from bot.views import case as case_views
from bot.views import steps as step_views
from bot.workflow import CaseState, next_step_key
from bot.workspace import Workspace
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import outbox as rows
from storage import timers as timer_rows
from storage.db import Database
from storage.models import Case, OutboxMessage

log = logging.getLogger("ncbot.outbox")

METADATA_EVENT = "nonconformity_notice"
RESPONSE_URL_LIFETIME = timedelta(minutes=30)
WAIT_FOR_CARD = timedelta(seconds=2)
NEEDS_CARD = frozenset({"thread", "reporter_notice", "card_update", "step_done"})


class _NotYet(Exception):
    """What this message changes has not been posted yet; try again shortly."""


class Outbox:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        workspace: Workspace,
        clock: Clock,
        *,
        lease: timedelta = timedelta(seconds=60),
    ) -> None:
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self.lease = lease
        self._senders: dict[str, Callable[[OutboxMessage, Case | None], tuple[str, str | None]]] = {
            "card_post": self._post_card,
            "card_update": self._update_card,
            "thread": self._post,
            "channel": self._post,
            "dm": self._post,
            "reporter_notice": self._tell_reporter,
            "step_done": self._finish_step,
        }

    def deliver_due(self, *, case_id: int | None = None, limit: int = 50) -> int:
        """Send what is due now; returns how many rows were claimed. Safe to call from any
        replica or thread at any time."""
        with self.db.transaction() as session:
            claimed = rows.claim_due(
                session, now=self.clock(), lease=self.lease, limit=limit, case_id=case_id
            )
        for row in claimed:
            self._deliver(row)
        return len(claimed)

    def _deliver(self, row: OutboxMessage) -> None:
        case = self._case(row.case_id)
        guard = row.payload.get("while_state")
        if guard and (case is None or case.state != guard):
            with self.db.transaction() as session:
                rows.mark_skipped(session, row.id, reason="case_moved_on")
            return
        if row.kind in NEEDS_CARD and (case is None or case.card_ts is None):
            self._retry(row, self.clock() + WAIT_FOR_CARD, "waiting_for_card")
            return
        try:
            found = self._already_posted(row, case) if row.attempts > 1 else None
            channel, ts = found or self._senders[row.kind](row, case)
        except _NotYet:
            self._retry(row, self.clock() + WAIT_FOR_CARD, "waiting_for_step")
            return
        except Exception as exc:
            failure = classify(exc)
            self._failed(row, failure)
            return
        self._record(row, channel, ts)
        if row.kind == "card_post" and case is not None and ts is not None:
            self._remember_permalink(case.id, channel, ts)

    # --- senders: each returns (channel, ts) of what Slack accepted ---

    def _post(self, row: OutboxMessage, case: Case | None) -> tuple[str, str | None]:
        channel = self._channel_for(row)
        args: dict[str, Any] = {
            "channel": channel,
            "text": row.payload.get("text", ""),
            "blocks": row.payload.get("blocks"),
            "metadata": self._metadata(row),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if row.in_thread and case is not None:
            args["thread_ts"] = case.card_ts
        response = self.client.chat_postMessage(**args)
        return str(response["channel"]), str(response["ts"])

    def _post_card(self, row: OutboxMessage, case: Case | None) -> tuple[str, str | None]:
        assert case is not None
        text, blocks = self._card(case)
        response = self.client.chat_postMessage(
            channel=case.channel,
            text=text,
            blocks=blocks,
            metadata=self._metadata(row),
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["channel"]), str(response["ts"])

    def _update_card(self, row: OutboxMessage, case: Case | None) -> tuple[str, str | None]:
        assert case is not None and case.card_ts is not None
        text, blocks = self._card(case)
        self.client.chat_update(channel=case.channel, ts=case.card_ts, text=text, blocks=blocks)
        return case.channel, case.card_ts

    def _finish_step(self, row: OutboxMessage, case: Case | None) -> tuple[str, str | None]:
        """Replace an answered step's buttons with its outcome, so it cannot be clicked again."""
        with self.db.transaction() as session:
            step = rows.by_key(session, row.payload["step"])
        if step is None or step.status == rows.FAILED:
            return row.target, None  # the step never reached Slack: nothing to replace
        if step.status != rows.SENT or step.slack_ts is None or step.slack_channel is None:
            raise _NotYet
        text, blocks = step_views.finished_step(
            step.payload.get("blocks") or [], row.payload["line"]
        )
        self.client.chat_update(
            channel=step.slack_channel, ts=step.slack_ts, text=text, blocks=blocks
        )
        return step.slack_channel, step.slack_ts

    def _remember_permalink(self, case_id: int, channel: str, ts: str) -> None:
        """Lists and reminders link to the thread; ask Slack once, not per rendering."""
        try:
            link = str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except Exception as exc:
            log.warning("no permalink for case card", extra={"case_id": case_id, "error": str(exc)})
            return
        with self.db.transaction() as session:
            stored = case_rows.by_id(session, case_id, lock=True)
            if stored is not None:
                stored.details = {**stored.details, "permalink": link}

    def _tell_reporter(self, row: OutboxMessage, case: Case | None) -> tuple[str, str | None]:
        assert case is not None and case.card_ts is not None
        lang = case.language
        link = case.details.get("permalink") or str(
            self.client.chat_getPermalink(channel=case.channel, message_ts=case.card_ts)[
                "permalink"
            ]
        )
        text = t("report.done", lang, ref=case.ref, link=link)
        response_url = row.payload.get("response_url")
        if response_url and self.clock() - row.created_at < RESPONSE_URL_LIFETIME:
            answer = WebhookClient(response_url, timeout=10).send(
                text=text, response_type="ephemeral", replace_original=False
            )
            if answer.status_code == 200:
                return "response_url", None
        response = self.client.chat_postMessage(
            channel=row.target, text=text, metadata=self._metadata(row), unfurl_links=False
        )
        return str(response["channel"]), str(response["ts"])

    # --- helpers ---

    def _card(self, case: Case) -> tuple[str, list[dict[str, Any]]]:
        lang = case.language
        with self.db.transaction() as session:
            system = catalogue_rows.system(session, case.system_id)
            escalation = timer_rows.next_escalation(session, case.id)
        name = system.name if system else case.system_id
        next_step = t(next_step_key(CaseState(case.state)), lang)
        return (
            case_views.card_text(case, lang),
            case_views.case_card(case, name, next_step, lang, escalation),
        )

    def _metadata(self, row: OutboxMessage) -> dict[str, Any]:
        return {"event_type": METADATA_EVENT, "event_payload": {"notice_id": row.id}}

    def _channel_for(self, row: OutboxMessage) -> str:
        if row.kind == "dm" and row.target.startswith(("U", "W")):
            opened = self.client.conversations_open(users=row.target)
            return str(opened["channel"]["id"])
        return row.target

    def _already_posted(self, row: OutboxMessage, case: Case | None) -> tuple[str, str] | None:
        """Look for this row's metadata in the channel since the row was created."""
        if row.kind in ("card_update", "reporter_notice", "step_done"):
            return None  # an update is idempotent; a reporter notice is not worth a second look
        channel = case.channel if row.kind == "card_post" and case else self._channel_for(row)
        oldest = f"{row.created_at.timestamp() - 1:.6f}"
        if row.in_thread and case is not None and case.card_ts:
            response = self.client.conversations_replies(
                channel=channel,
                ts=case.card_ts,
                oldest=oldest,
                include_all_metadata=True,
                limit=200,
            )
        else:
            response = self.client.conversations_history(
                channel=channel, oldest=oldest, include_all_metadata=True, limit=200
            )
        messages: list[dict[str, Any]] = response.get("messages", [])
        for message in messages:
            metadata = message.get("metadata") or {}
            if (
                metadata.get("event_type") == METADATA_EVENT
                and (metadata.get("event_payload") or {}).get("notice_id") == row.id
            ):
                return channel, str(message["ts"])
        return None

    def _case(self, case_id: int | None) -> Case | None:
        if case_id is None:
            return None
        with self.db.transaction() as session:
            return case_rows.by_id(session, case_id)

    def _record(self, row: OutboxMessage, channel: str, ts: str | None) -> None:
        now = self.clock()
        with self.db.transaction() as session:
            rows.mark_sent(session, row.id, channel=channel, ts=ts, now=now)
            if row.case_id is None:
                return
            case = case_rows.by_id(session, row.case_id, lock=True)
            assert case is not None
            if row.kind == "card_post":
                case.card_ts = ts
            if row.kind not in ("card_update", "step_done"):
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
                    },
                )

    def _retry(self, row: OutboxMessage, when: datetime, error: str) -> None:
        with self.db.transaction() as session:
            rows.mark_retry(session, row.id, not_before=when, error=error)

    def _failed(self, row: OutboxMessage, failure: Failure) -> None:
        now = self.clock()
        log.warning(
            "slack refused outbox message",
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


__all__ = ["Outbox", "SlackApiError"]
