"""The report modal's submission: validate, store, then answer; post only after the commit."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.cases.domain import DESCRIPTION_MAX
from bot.cases.report_input import FIELD_BLOCK, ReportInput
from bot.cases.report_views import DESCRIPTION_INPUT_MAX, needs_low_confirmation, report_modal
from bot.errors import UserError
from bot.messages import t
from bot.services import Services
from bot.views import ids
from bot.views.text import cap
from handlers.payloads import Incoming, MessageShortcut, ReportOrigin

log = logging.getLogger("ncbot.report")


def register(app: App, services: Services) -> None:
    register_shortcut(app, services)

    @app.view(ids.REPORT_CALLBACK)
    def on_submit(ack: Ack, incoming: Incoming) -> None:
        values = incoming.values()
        parsed = incoming.form(ReportInput, report_values(values), FIELD_BLOCK)
        origin = incoming.metadata(ReportOrigin)
        if needs_low_confirmation(parsed, values.get("confirm_low")):
            if "confirm_low" in values:  # asked already: the box is still not ticked
                raise UserError("report.confirm_low.required", field="confirm_low")
            systems = services.cases.system_choices()
            again = report_modal(
                services.lang, systems, filled=parsed, private_metadata=incoming.raw_metadata()
            )
            ack(response_action="update", view=again)
            return
        try:
            services.cases.report(
                parsed,
                reporter_id=incoming.user_id,
                reporter_team=incoming.team_id or incoming.workspace_id,
                submission_key=incoming.submission_key(),
                response_url=origin.response_url,
            )
        except SQLAlchemyError:
            log.exception("storing a report failed")
            raise UserError("report.error.storage", field="system") from None
        ack()  # a duplicate only answers: it binds no case, so the pipeline delivers nothing


def register_shortcut(app: App, services: Services) -> None:
    @app.shortcut(ids.REPORT_MESSAGE)
    def on_report_message(
        ack: Ack, client: WebClient, respond: Respond, incoming: Incoming
    ) -> None:
        ack()
        open_report_for_message(services, client, incoming.message_shortcut(), respond)


def open_report_for_message(
    services: Services, client: WebClient, shortcut: MessageShortcut, respond: Respond
) -> None:
    """The report modal with the message as its description and its link as evidence. Needs
    no membership of the channel: the modal opens from the trigger, the reporter is answered
    through the shortcut's ``response_url``."""
    lang = services.lang
    systems = services.cases.system_choices()
    if not systems:
        respond(text=t("report.no_systems", lang), response_type="ephemeral")
        return
    words = cap(shortcut.message.words(), min(DESCRIPTION_INPUT_MAX, DESCRIPTION_MAX))
    metadata = json.dumps({"response_url": shortcut.response_url, "channel": shortcut.channel_id})
    view = report_modal(
        lang,
        systems,
        description=words,
        evidence=_permalink(client, shortcut),
        private_metadata=metadata[:3000],
    )
    try:
        client.views_open(trigger_id=shortcut.trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("views.open failed", extra={"error": exc.response.get("error")})
        respond(text=t("report.trigger_expired", lang), response_type="ephemeral")


def _permalink(client: WebClient, shortcut: MessageShortcut) -> str:
    """Slack's own link to the message; where Slack will not say (a private channel the bot
    is not in), the link composed as Slack writes it."""
    try:
        answer = client.chat_getPermalink(
            channel=shortcut.channel_id, message_ts=shortcut.message_ts
        )
        return str(answer["permalink"])
    except SlackApiError as exc:
        log.info("permalink composed", extra={"error": exc.response.get("error")})
        return shortcut.composed_permalink()


def report_values(values: dict[str, Any]) -> dict[str, object]:
    """The modal's inputs under the names of ``ReportInput``'s fields."""
    return {
        "system_id": values.get("system"),
        "title": values.get("title"),
        "description": values.get("description"),
        "requirements": values.get("requirements") or [],
        "risk": values.get("risk"),
        "severity": values.get("severity"),
        "evidence_url": values.get("evidence"),
    }
