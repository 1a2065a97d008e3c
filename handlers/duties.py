"""Art. 20(2) and Art. 73 duties in the thread: record each one, correct the awareness date."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cases.inputs import AwarenessCorrection, Informed, Investigation, Sent
from bot.duties import views as duty_views
from bot.duties.service import ORDER
from bot.messages import t
from bot.services import Services
from bot.views import ids
from bot.views.text import safe
from handlers.payloads import CaseNumber, FormRefused, Incoming, Malformed

log = logging.getLogger("ncbot.duties")
DUTY_BUTTON = re.compile("^" + re.escape(ids.DUTY_PREFIX) + "(" + "|".join(ORDER) + ")$")


def register(app: App, services: Services) -> None:
    lang = services.lang

    @app.action(DUTY_BUTTON)
    def on_duty(
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        incoming: Incoming,
    ) -> None:
        ack()
        duty = action["action_id"].removeprefix(ids.DUTY_PREFIX)
        number = incoming.button(CaseNumber).case
        case = services.duties.check(number, duty, incoming.user_id, incoming.team_id)
        system = services.cases.system_names().get(case.system_id, case.system_id)
        message = services.duties.message_for(case, duty)
        provider = services.duties.provider(case)
        view = duty_views.duty_modal(case, duty, system, services.today(), lang, provider, message)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(ids.DUTY_CALLBACK)
    def on_duty_submit(ack: Ack, incoming: Incoming) -> None:
        meta = incoming.metadata(CaseNumber)
        values = incoming.values()
        if meta.duty in duty_views.INFORM_DUTIES and "choice" in values:
            informed = incoming.form(Informed, values)
            if informed.missing():
                raise FormRefused(informed.missing())
            data = informed.model_dump(mode="json")
        elif meta.duty in duty_views.INFORM_DUTIES:  # no channel: only another way
            data = {
                "choice": duty_views.OTHER,
                **incoming.form(Sent, values).model_dump(mode="json"),
            }
        else:
            model = Investigation if meta.duty == "investigate" else Sent
            data = incoming.form(model, values).model_dump(mode="json")
        services.duties.record(
            meta.case,
            _opened_at(meta),
            meta.duty,
            incoming.user_id,
            incoming.team_id,
            data,
            shown=meta.shown,
        )
        ack()

    @app.action(ids.AWARENESS)
    def on_awareness(ack: Ack, body: dict[str, Any], client: WebClient, incoming: Incoming) -> None:
        ack()
        number = incoming.button(CaseNumber).case
        case = services.duties.check(number, "initial_report", incoming.user_id, incoming.team_id)
        deadline = services.duties.deadline_of(case)
        aware_on = deadline.aware_on if deadline else services.today()
        client.views_open(
            trigger_id=body["trigger_id"], view=duty_views.awareness_modal(case, aware_on, lang)
        )

    @app.action(ids.ART73_REPORT)
    def on_art73_report(ack: Ack, respond: Respond, incoming: Incoming) -> None:
        """Read-only: members of the roles may draft it, whatever the case's state."""
        ack()
        number = incoming.button(CaseNumber).case
        case = services.dossiers.check(incoming.user_id, incoming.team_id, number)
        try:
            services.dossiers.upload_art73(case, incoming.user_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "error")
            log.warning("art73 report upload failed", extra={"case": case.ref, "error": error})
            respond(
                text=t("export.failed", lang, ref=case.ref, error=safe(error, 80)),
                response_type="ephemeral",
                replace_original=False,
            )

    @app.view(ids.AWARENESS_CALLBACK)
    def on_awareness_submit(ack: Ack, incoming: Incoming) -> None:
        meta = incoming.metadata(CaseNumber)
        parsed = incoming.form(AwarenessCorrection)
        assert parsed.aware_on is not None
        services.duties.correct_awareness(
            meta.case,
            (_opened_at(meta), meta.aware_on),
            incoming.user_id,
            incoming.team_id,
            parsed.aware_on,
            parsed.reason or "",
        )
        ack()


def _opened_at(meta: CaseNumber) -> int:
    """The case version a duty modal was opened at; a modal without one cannot be checked for
    staleness, so it is refused like any other unreadable metadata."""
    if meta.version is None:
        raise Malformed("private_metadata version")
    return meta.version
