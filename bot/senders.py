"""How each kind of outbox message is sent, and what its delivery changes.

The outbox engine (``bot.outbox``) decides when and whether to send; this module knows what:
rendering a case card, a thread step, a partner notice or the notice table at send time, and
recording their effects (a card's ``ts``, a notice's receipt timer, a failure the thread must
hear about).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session

from bot import audit, duties, notices, timers
from bot.case_state import CaseRecord
from bot.cases import case_notes
from bot.clock import Clock
from bot.messages import t
from bot.views import case as case_views
from bot.views import duties as duty_views
from bot.views import notices as notice_views
from bot.views import steps as step_views
from bot.workflow import CaseState, next_step_key
from bot.workspace import Workspace
from storage import cases as case_rows
from storage import catalogue as catalogue_rows
from storage import notices as notice_rows
from storage import outbox as rows
from storage.db import Database
from storage.models import Case, OutboxMessage

log = logging.getLogger("ncbot.outbox")

METADATA_EVENT = "nonconformity_notice"
RESPONSE_URL_LIFETIME = timedelta(minutes=30)

Send = Callable[[OutboxMessage, CaseRecord | None], tuple[str, str | None]]


class NotYet(Exception):
    """What this message changes has not been posted yet; try again shortly."""


class Senders:
    def __init__(
        self,
        db: Database,
        client: WebClient,
        workspace: Workspace,
        clock: Clock,
        bot_user_id: str | None,
    ) -> None:
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.by_kind: dict[str, Send] = {
            "card_post": self._post_card,
            "card_update": self._update_card,
            "thread": self._post,
            "channel": self._post,
            "dm": self._post,
            "reporter_notice": self._tell_reporter,
            "step_done": self._finish_step,
            "partner_notice": self._post_notice,
            "notice_update": self._update_notice,
            "panel_post": self._post_panel,
            "panel_update": self._update_panel,
        }
        self.panels: dict[str, Callable[[CaseRecord], tuple[str, list[dict[str, Any]]]]] = {
            "duties": self._duties_panel,
            "notices": self._notices_panel,
        }
        # Called with a case id after its card was posted or updated (the App Home refresh).
        self.on_case_shown: Callable[[int], None] | None = None

    def send(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        """Send ``row``; returns the channel and ``ts`` of what Slack accepted."""
        return self.by_kind[row.kind](row, case)

    def _post_message(
        self,
        row: OutboxMessage,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> tuple[str, str]:
        """Every post: tagged with its row (for the history look-up), links never unfurled."""
        args: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "metadata": self.metadata(row),
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if blocks is not None:
            args["blocks"] = blocks
        if thread_ts is not None:
            args["thread_ts"] = thread_ts
        response = self.client.chat_postMessage(**args)
        return str(response["channel"]), str(response["ts"])

    def _post(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        thread_ts = case.card_ts if row.in_thread and case is not None else None
        return self._post_message(
            row,
            self.channel_for(row),
            row.payload.get("text", ""),
            row.payload.get("blocks"),
            thread_ts,
        )

    def _post_card(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        assert case is not None
        text, blocks = self._card(case)
        return self._post_message(row, case.channel, text, blocks)

    def _update_card(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        assert case is not None and case.card_ts is not None
        text, blocks = self._card(case)
        self.client.chat_update(channel=case.channel, ts=case.card_ts, text=text, blocks=blocks)
        self._case_shown(case.id)
        return case.channel, case.card_ts

    def _case_shown(self, case_id: int) -> None:
        if self.on_case_shown is not None:
            self.on_case_shown(case_id)  # must not raise: it only queues background work

    def _finish_step(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        """Replace an answered step's buttons with its outcome, so it cannot be clicked again."""
        with self.db.transaction() as session:
            step = rows.by_key(session, row.payload["step"])
        if step is None or step.status == rows.FAILED:
            return row.target, None  # the step never reached Slack: nothing to replace
        if step.status != rows.SENT or step.slack_ts is None or step.slack_channel is None:
            raise NotYet
        text, blocks = step_views.finished_step(
            step.payload.get("blocks") or [], row.payload["line"]
        )
        self.client.chat_update(
            channel=step.slack_channel, ts=step.slack_ts, text=text, blocks=blocks
        )
        return step.slack_channel, step.slack_ts

    def remember_permalink(self, case_id: int, channel: str, ts: str) -> None:
        """Lists and reminders link to the thread; ask Slack once, not per rendering."""
        try:
            link = str(self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except Exception as exc:
            log.warning("no permalink for case card", extra={"case_id": case_id, "error": str(exc)})
            return
        with self.db.transaction() as session:
            stored = case_rows.by_id(session, case_id, lock=True)
            if stored is not None:
                stored.details = stored.details.model_copy(update={"permalink": link})
        self._case_shown(case_id)  # after the link is stored: the Home links to the thread

    def _tell_reporter(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        assert case is not None and case.card_ts is not None
        lang = case.language
        link = case.details.permalink or str(
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
        return self._post_message(row, row.target, text)

    def _card(self, case: CaseRecord) -> tuple[str, list[dict[str, Any]]]:
        lang = case.language
        with self.db.read() as session:
            system = catalogue_rows.system(session, case.system_id)
            notes = case_notes(session, case)
        name = system.name if system else case.system_id
        next_step = t(next_step_key(CaseState(case.state)), lang)
        return (
            case_views.card_text(case, lang),
            case_views.case_card(case, name, next_step, lang, notes),
        )

    # --- panels: one thread message per case and topic, posted once and kept current ---

    def _post_panel(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        assert case is not None and case.card_ts is not None
        text, blocks = self.panels[row.payload["panel"]](case)
        return self._post_message(row, case.channel, text, blocks, case.card_ts)

    def _update_panel(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        assert case is not None
        with self.db.read() as session:
            posted = rows.by_key(session, row.payload["post"])
        if posted is None or posted.status != rows.SENT or not posted.slack_ts:
            raise NotYet
        channel = posted.slack_channel or case.channel
        text, blocks = self.panels[row.payload["panel"]](case)
        self.client.chat_update(channel=channel, ts=posted.slack_ts, text=text, blocks=blocks)
        return channel, posted.slack_ts

    def _duties_panel(self, case: CaseRecord) -> tuple[str, list[dict[str, Any]]]:
        with self.db.read() as session:
            names = duties.authority_names(session, case.details)
        deadline = case.details.art73()
        line = (
            duty_views.deadline_line(
                deadline.category, deadline.due, deadline.days, deadline.article, case.language
            )
            if deadline
            else None
        )
        return duty_views.panel(case, duties.required(case.details), line, names, case.language)

    def metadata(self, row: OutboxMessage) -> dict[str, Any]:
        """Tags every post with its outbox row (and a partner notice with its notice id), so a
        retry can find a message Slack accepted but we never heard back about."""
        payload: dict[str, Any] = {"outbox_id": row.id}
        if "notice_id" in row.payload:
            payload["notice_id"] = row.payload["notice_id"]
        return {"event_type": METADATA_EVENT, "event_payload": payload}

    def channel_for(self, row: OutboxMessage) -> str:
        if row.kind == "dm" and row.target.startswith(("U", "W")):
            opened = self.client.conversations_open(users=row.target)
            return str(opened["channel"]["id"])
        return row.target

    def _post_notice(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        assert case is not None
        text, blocks = self._render_notice(case, int(row.payload["notice_id"]))
        return self._post_message(row, row.target, text, blocks)

    def _update_notice(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        assert case is not None
        notice_id = int(row.payload["notice_id"])
        with self.db.transaction() as session:
            notice = notice_rows.by_id(session, notice_id)
        if notice is None or notice.slack_ts is None or notice.slack_channel is None:
            raise NotYet
        text, blocks = self._render_notice(case, notice_id)
        self.client.chat_update(
            channel=notice.slack_channel, ts=notice.slack_ts, text=text, blocks=blocks
        )
        return notice.slack_channel, notice.slack_ts

    def _render_notice(self, case: CaseRecord, notice_id: int) -> tuple[str, list[dict[str, Any]]]:
        with self.db.transaction() as session:
            notice = notice_rows.by_id(session, notice_id)
            assert notice is not None
            partner = catalogue_rows.partner(session, notice.partner_id)
            system = catalogue_rows.system(session, case.system_id)
        lang = notice.language or "en"
        return notice_views.partner_notice(
            case,
            notice,
            partner.name if partner else notice.partner_id,
            system.name if system else case.system_id,
            lang,
        )

    def _notices_panel(self, case: CaseRecord) -> tuple[str, list[dict[str, Any]]]:
        version = case.details.notices_version
        with self.db.read() as session:
            notices = notice_rows.of_case(session, case.id, version)
            names = {
                n.partner_id: (
                    p.name if (p := catalogue_rows.partner(session, n.partner_id)) else n.partner_id
                )
                for n in notices
            }
        return notice_views.notice_status(case, notices, names, case.language)

    def notice_delivered(
        self,
        session: Session,
        case: Case,
        notice_id: int,
        channel: str,
        ts: str | None,
        now: datetime,
    ) -> None:
        notice = notice_rows.by_id(session, notice_id, lock=True)
        if notice is None or notice.status != notice_rows.QUEUED:
            return
        notice.status, notice.slack_channel, notice.slack_ts, notice.sent_at = (
            notice_rows.SENT,
            channel,
            ts,
            now,
        )
        timers.start_for_notice(session, case, notice, self.workspace, now)
        notices.refresh_table(session, case, now, f"sent{notice.id}")

    def notice_failed(
        self, session: Session, row: OutboxMessage, error: str, now: datetime
    ) -> None:
        """A permanent refusal: say in the thread what a person must fix, with a Retry button."""
        case = case_rows.by_id(session, row.case_id or 0, lock=True)
        notice = notice_rows.by_id(session, int(row.payload["notice_id"]), lock=True)
        if case is None or notice is None:
            return
        notice.status, notice.failure = notice_rows.FAILED, error
        partner = catalogue_rows.partner(session, notice.partner_id)
        text, blocks = notice_views.failure_message(
            notice, partner.name if partner else notice.partner_id, case.language, self.bot_user_id
        )
        rows.enqueue(
            session,
            dedupe_key=f"notice-failed:{notice.id}:{row.attempts}:{now.timestamp()}",
            kind="thread",
            target=case.channel,
            case_id=case.id,
            in_thread=True,
            now=now,
            payload={"text": text, "blocks": blocks, "step": "notice_failed"},
        )
        audit.record(
            session,
            case,
            "notice_failed",
            actor=None,
            at=now,
            data={"notice": notice.id, "partner": notice.partner_id, "error": error},
        )
        notices.refresh_table(session, case, now, f"failed{notice.id}:{row.attempts}")
