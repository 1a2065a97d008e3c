"""How each kind of outbox message reaches Slack, and what its delivery changes.

The outbox engine (``bot.outbox``) decides when and whether to send; this module knows where
each kind goes (a post, a reply in the case's thread, a DM, an edit of an earlier message) and
records the effects of delivery (a notice's receipt timer, a failure the thread must hear about).
What a message says was rendered when it was queued (``bot.delivery.messages``).
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session

from bot.audit import trail as audit
from bot.cases import panels
from bot.cases.state import CaseRecord, DutyRecord
from bot.clock import Clock, today_in
from bot.delivery import messages, render
from bot.delivery.mail import (
    SMTP_NO_SMTPUTF8,
    Mailer,
    MailNotConfigured,
    MailSettings,
    compose,
)
from bot.messages import shown_in, t
from bot.notices import receipts
from bot.notices import service as notices
from bot.notices import views as notice_views
from bot.ops.workspace import Workspace
from bot.timers import engine as timers
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
    """Slack's side of each kind: where a message goes or which message it edits. The words
    were rendered when the message was queued (``bot.delivery.messages``)."""

    def __init__(
        self,
        db: Database,
        client: WebClient,
        workspace: Workspace,
        clock: Clock,
        bot_user_id: str | None,
        mail: MailSettings | None = None,
    ) -> None:
        self.mail = mail
        self.mailer = Mailer(mail) if mail is not None and mail.can_send else None
        self.db = db
        self.client = client
        self.workspace = workspace
        self.clock = clock
        self.bot_user_id = bot_user_id
        self.by_kind: dict[str, Send] = {
            messages.CARD_POST.name: self._post,
            messages.CARD_UPDATE.name: self._edit,
            messages.THREAD.name: self._post,
            messages.CHANNEL.name: self._post,
            messages.DM.name: self._post,
            messages.REPORTER_NOTICE.name: self._tell_reporter,
            messages.STEP_DONE.name: self._edit,
            messages.PARTNER_NOTICE.name: self._post,
            messages.NOTICE_UPDATE.name: self._edit,
            messages.PANEL_POST.name: self._post,
            messages.PANEL_UPDATE.name: self._edit,
            messages.COPY_UPDATE.name: self._edit,
            messages.AUDIT_CHECKPOINT.name: self._post,
            messages.EMAIL_NOTICE.name: self._mail,
            messages.EMAIL_AUTHORITY.name: self._mail,
        }
        missing = set(messages.KINDS) ^ set(self.by_kind)
        assert not missing, f"message kinds without a sender, or senders without a kind: {missing}"
        # Called with a case id after its card was posted or updated (the App Home refresh).
        self.on_case_shown: Callable[[int], None] | None = None
        # A person's DM with the bot keeps its channel id: ``conversations.open`` (Tier 3,
        # about 50 a minute) is asked once per person, not once per DM — a burst of
        # escalations DMs the same few people hundreds of times.
        self._dm_channels: dict[str, str] = {}
        self._dm_lock = threading.Lock()

    def send(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        """Send ``row``; returns the channel and ``ts`` of what Slack accepted."""
        if "text" not in row.payload:
            self._render_queued_before_0007(row)
        return self.by_kind[row.kind](row, case)

    def _render_queued_before_0007(self, row: OutboxMessage) -> None:
        """A row queued by a version that rendered some kinds when sending holds no text:
        render it now, as that version would have, and aim an edit at its post's key (that
        version aimed edits at the channel; a replica of it may still be running while the
        first new one has migrated the database)."""
        payload = row.payload
        post_key = {
            messages.CARD_UPDATE.name: lambda: messages.card_key(row.case_id or 0),
            messages.STEP_DONE.name: lambda: str(payload["step"]),
            messages.PANEL_UPDATE.name: lambda: str(payload["post"]),
            messages.NOTICE_UPDATE.name: lambda: messages.notice_key(int(payload["notice_id"])),
        }.get(row.kind)
        if post_key is not None:
            row.target = post_key()
        with self.db.read() as session:
            case_id = row.case_id or 0
            renderer = {
                messages.CARD_POST.name: lambda: render.card(case_id),
                messages.CARD_UPDATE.name: lambda: render.card(case_id),
                messages.REPORTER_NOTICE.name: lambda: render.reporter_confirmation(case_id),
                messages.PANEL_POST.name: lambda: render.panel(case_id, payload["panel"]),
                messages.PANEL_UPDATE.name: lambda: render.panel(case_id, payload["panel"]),
                messages.PARTNER_NOTICE.name: lambda: render.partner_notice(
                    payload["notice_id"], self.workspace.provider
                ),
                messages.NOTICE_UPDATE.name: lambda: render.partner_notice(
                    payload["notice_id"], self.workspace.provider
                ),
                messages.STEP_DONE.name: lambda: render.answered_step(
                    payload["step"], payload["line"]
                ),
            }[row.kind]()
            text, blocks = renderer(session)
        row.payload = {**payload, "text": text, **({"blocks": blocks} if blocks else {})}

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

    def _edit(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        """Replace the message this row edits with the row's content."""
        found = self._edited(row)
        if found is None:
            return row.target, None  # what it would edit never reached Slack: nothing to do
        channel, ts = found
        self.client.chat_update(
            channel=channel, ts=ts, text=row.payload.get("text", ""), blocks=row.payload["blocks"]
        )
        if row.kind == messages.CARD_UPDATE.name and case is not None:
            self.case_shown(case.id)
        return channel, ts

    def _edited(self, row: OutboxMessage) -> tuple[str, str] | None:
        """Where the post an edit replaces is (its outbox key is the edit's target); ``NotYet``
        while that post is still on its way, None when it never reached Slack."""
        with self.db.read() as session:
            posted = rows.by_key(session, row.target)
        if posted is None or posted.status == rows.FAILED:
            return None
        if posted.status != rows.SENT or posted.slack_ts is None or posted.slack_channel is None:
            raise NotYet
        return posted.slack_channel, posted.slack_ts

    def _mail(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        """An e-mail to one address: the rendered notice plus its receipt link, valid
        ``RECEIPT_DAYS`` from when the row was queued (so a retry sends the very same e-mail,
        with the same ``Message-ID``). Returns the address and the ``Message-ID``."""
        if self.mailer is None or self.mail is None or not self.mail.mail_from:
            raise MailNotConfigured
        message = self.email(row)
        self.mailer.send(message, row.target)
        return row.target, str(message["Message-ID"])

    def email(self, row: OutboxMessage) -> EmailMessage:
        """What ``row`` sends: the stored words and the receipt paragraph (a link where there
        is a public URL, else "reply to this e-mail")."""
        assert self.mail is not None and self.mail.mail_from is not None
        payload = row.payload
        text, body = str(payload.get("text", "")), str(payload.get("html", ""))
        lang, ref = str(payload.get("language") or "en"), str(payload.get("ref", ""))
        if self.mail.links and "notice_id" in payload:
            assert self.mail.receipt_key is not None
            expires = row.created_at + timedelta(days=self.mail.receipt_days)
            token = receipts.sign(
                self.mail.receipt_key, int(payload["notice_id"]), row.target, expires
            )
            link = self.mail.receipt_url(token)
            date = expires.strftime("%Y-%m-%d")
            ask = t("mail.receipt.ask", lang, link=link)
            meaning = t("mail.receipt.meaning", lang, date=date)
            text += f"\n\n{ask}\n\n{meaning}\n"
            body += (
                f'<p><a href="{html.escape(link)}">'
                f"{html.escape(t('mail.receipt.button', lang))}</a></p>\n"
                f"<p><small>{html.escape(meaning)}</small></p>\n"
            )
        elif "notice_id" in payload:
            reply = t("mail.receipt.reply", lang, ref=ref)
            text += f"\n\n{reply}\n"
            body += f"<p>{html.escape(reply)}</p>\n"
        page = f'<!doctype html>\n<html lang="{shown_in(lang)}"><body>\n{body}</body></html>\n'
        return compose(
            address=row.target,
            subject=str(payload.get("subject", ref)),
            text=text,
            html=page,
            sender_name=payload.get("sender_name"),
            mail_from=self.mail.mail_from,
            reply_to=payload.get("reply_to"),
            dedupe_key=row.dedupe_key,
            sent_on=row.created_at.timestamp(),
        )

    def case_shown(self, case_id: int) -> None:
        if self.on_case_shown is not None:
            self.on_case_shown(case_id)  # must not raise: it only queues background work

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
        self.case_shown(case_id)  # after the link is stored: the Home links to the thread

    def _tell_reporter(self, row: OutboxMessage, case: CaseRecord | None) -> tuple[str, str | None]:
        assert case is not None and case.card_ts is not None
        link = case.details.permalink or str(
            self.client.chat_getPermalink(channel=case.channel, message_ts=case.card_ts)[
                "permalink"
            ]
        )
        text = str(row.payload.get("text", "")).replace(render.PERMALINK, link)
        response_url = row.payload.get("response_url")
        if response_url and self.clock() - row.created_at < RESPONSE_URL_LIFETIME:
            answer = WebhookClient(response_url, timeout=10).send(
                text=text, response_type="ephemeral", replace_original=False
            )
            if answer.status_code == 200:
                return "response_url", None
        return self._post_message(row, row.target, text)

    def metadata(self, row: OutboxMessage) -> dict[str, Any]:
        """Tags every post with its outbox row (and a partner notice with its notice id), so a
        retry can find a message Slack accepted but we never heard back about."""
        payload: dict[str, Any] = {"outbox_id": row.id}
        if "notice_id" in row.payload:
            payload["notice_id"] = row.payload["notice_id"]
        return {"event_type": METADATA_EVENT, "event_payload": payload}

    def channel_for(self, row: OutboxMessage) -> str:
        if row.kind == messages.DM.name and row.target.startswith(("U", "W")):
            with self._dm_lock:
                known = self._dm_channels.get(row.target)
            if known is not None:
                return known
            opened = self.client.conversations_open(users=row.target)
            channel = str(opened["channel"]["id"])
            with self._dm_lock:
                self._dm_channels[row.target] = channel
            return channel
        return row.target

    def notice_delivered(
        self,
        session: Session,
        case: Case,
        notice_id: int,
        channel: str,
        ts: str | None,
        now: datetime,
        *,
        by_email: bool = False,
    ) -> None:
        notice = notice_rows.by_id(session, notice_id, lock=True)
        if notice is None or notice.status != notice_rows.QUEUED:
            return
        # When it first reached the partner: a message retried after a failure (a reminder
        # the relay refused, another address) does not move it.
        sent_at = notice.sent_at or now
        if by_email:  # the first address the relay accepted; the others change nothing here
            notice.status, notice.sent_at = notice_rows.SENT, sent_at
        else:
            notice.status, notice.slack_channel, notice.slack_ts, notice.sent_at = (
                notice_rows.SENT,
                channel,
                ts,
                sent_at,
            )
        timers.start_for_notice(session, case, notice, self.workspace, now)
        notices.refresh_table(session, case, now, f"sent{notice.id}")

    def authority_emailed(
        self, session: Session, case: Case, row: OutboxMessage, now: datetime
    ) -> None:
        """The relay accepted the authority's e-mail: the duty is done now, by whoever chose
        "Send it now" (the first address accepted records it; the others change nothing)."""
        payload = row.payload
        duty = str(payload["duty"])
        if duty in case.details.duties:
            return
        how = t(
            "duty.sent.email.how",
            case.language,
            authority=str(payload.get("authority_name") or ""),
            address=row.target,
        )
        today = today_in(self.workspace.timezone, now)
        chosen_by = str(payload["chosen_by"])
        recorded = DutyRecord(by=chosen_by, at=now, how=how, on=today, sent_to=row.target)
        case.details = case.details.with_duty(duty, recorded)
        case.updated_at = now
        message = {"to": row.target, "subject": payload.get("subject"), "text": payload.get("text")}
        audit.record(
            session,
            case,
            f"duty_{duty}",
            actor=chosen_by,
            at=now,
            data={"choice": "email", "on": today.isoformat(), "how": how, "message": message},
        )
        panels.refresh(session, case, "duties", now, duty)
        messages.queue(session, messages.card_refresh(case, f"duty:{duty}"), now)

    def authority_failed(
        self, session: Session, row: OutboxMessage, error: str, now: datetime
    ) -> None:
        """The relay refused the authority's e-mail for good: the thread says so; the duty stays
        open (Send it now again once the address is fixed, or record another way)."""
        case = case_rows.by_id(session, row.case_id or 0, lock=True)
        if case is None or str(row.payload["duty"]) in case.details.duties:
            return
        text = t(
            "duty.email.failed",
            case.language,
            authority=str(row.payload.get("authority_name") or row.target),
            error=f"{row.target}: {error}"[:200],
        )
        key = f"duty-email-failed:{row.id}:{row.attempts}"
        messages.queue(session, messages.thread_line(case, key, text, step="duty_failed"), now)

    def notice_failed(
        self, session: Session, row: OutboxMessage, error: str, now: datetime
    ) -> None:
        """A permanent refusal: say in the thread what a person must fix, with a Retry button."""
        case = case_rows.by_id(session, row.case_id or 0, lock=True)
        notice = notice_rows.by_id(session, int(row.payload["notice_id"]), lock=True)
        if case is None or notice is None:
            return
        if notice.status in notice_rows.SETTLED:
            return  # another address (or the channel) already settled it
        by_email = row.kind in messages.EMAIL_KINDS
        notice.status = notice_rows.FAILED
        notice.failure = f"{row.target}: {error}"[:255] if by_email else error
        partner = catalogue_rows.partner(session, notice.partner_id)
        hint = None
        if by_email:
            named = ("smtp_not_configured", SMTP_NO_SMTPUTF8)
            hint = error if error in named else "email"
        text, blocks = notice_views.failure_message(
            notice,
            partner.name if partner else notice.partner_id,
            case.language,
            self.bot_user_id,
            hint=hint,
        )
        key = f"notice-failed:{notice.id}:{row.attempts}:{now.timestamp()}"
        failed = messages.thread_line(case, key, text, step="notice_failed", blocks=blocks)
        messages.queue(session, failed, now)
        audit.record(
            session,
            case,
            "notice_failed",
            actor=None,
            at=now,
            data={"notice": notice.id, "partner": notice.partner_id, "error": notice.failure},
        )
        notices.refresh_table(session, case, now, f"failed{notice.id}:{row.attempts}")
