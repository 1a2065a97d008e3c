"""Art. 20(2) and Art. 73 duties in the thread: record each one, correct the awareness date."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.duties import ORDER
from bot.errors import UserError
from bot.forms import parse_form
from bot.messages import t
from bot.services import Services
from bot.step_inputs import AwarenessCorrection, Investigation, Sent
from bot.views import duties as duty_views
from bot.views import ids
from handlers.forms import as_date, as_int, inline_errors, private_metadata, view_values

DUTY_BUTTON = re.compile("^" + re.escape(ids.DUTY_PREFIX) + "(" + "|".join(ORDER) + ")$")


def register(app: App, services: Services) -> None:
    lang = services.lang

    def refuse(respond: Respond, refusal: UserError) -> None:
        text = t(refusal.key, lang, **refusal.params)
        respond(text=text, response_type="ephemeral", replace_original=False)

    @app.action(DUTY_BUTTON)
    def on_duty(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        duty = action["action_id"].removeprefix(ids.DUTY_PREFIX)
        who = body["user"]
        try:
            case = services.duties.check(
                as_int(action.get("value")), duty, who["id"], who.get("team_id")
            )
        except UserError as refusal:
            refuse(respond, refusal)
            return
        system = services.cases.system_names().get(case.system_id, case.system_id)
        view = duty_views.duty_modal(case, duty, system, services.today(), lang)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(ids.DUTY_CALLBACK)
    def on_duty_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = private_metadata(view)
        duty = str(meta.get("duty", ""))
        values = view_values(view)
        model = Investigation if duty == "investigate" else Sent
        parsed = parse_form(model, values)
        if isinstance(parsed, dict):
            ack(
                response_action="errors",
                errors=inline_errors(parsed, lang),
            )
            return
        who = body["user"]
        try:
            case = services.duties.record(
                as_int(meta.get("case")),
                as_int(meta.get("version")),
                duty,
                who["id"],
                who.get("team_id"),
                parsed.model_dump(mode="json"),
            )
        except UserError as refusal:
            block = refusal.field or next(iter(values), "how")
            ack(response_action="errors", errors={block: t(refusal.key, lang, **refusal.params)})
            return
        ack()
        services.outbox.deliver_due(case_id=case.id)

    @app.action(ids.AWARENESS)
    def on_awareness(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        who = body["user"]
        try:
            case = services.duties.check(
                as_int(action.get("value")), "initial_report", who["id"], who.get("team_id")
            )
        except UserError as refusal:
            refuse(respond, refusal)
            return
        deadline = services.duties.deadline_of(case)
        aware_on = deadline.aware_on if deadline else services.today()
        client.views_open(
            trigger_id=body["trigger_id"], view=duty_views.awareness_modal(case, aware_on, lang)
        )

    @app.view(ids.AWARENESS_CALLBACK)
    def on_awareness_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        parsed = parse_form(AwarenessCorrection, view_values(view))
        if isinstance(parsed, dict):
            ack(
                response_action="errors",
                errors=inline_errors(parsed, lang),
            )
            return
        assert parsed.aware_on is not None
        who, meta = body["user"], private_metadata(view)
        try:
            case = services.duties.correct_awareness(
                as_int(meta.get("case")),
                (as_int(meta.get("version")), as_date(meta.get("aware_on"))),
                who["id"],
                who.get("team_id"),
                parsed.aware_on,
                parsed.reason or "",
            )
        except UserError as refusal:
            ack(
                response_action="errors",
                errors={"aware_on": t(refusal.key, lang, **refusal.params)},
            )
            return
        ack()
        services.outbox.deliver_due(case_id=case.id)
