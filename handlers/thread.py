"""The guided thread: step buttons and the modals behind them.

A button either acts at once (Acknowledge, Approve, Close) or opens the modal that records the
decision; a refused click gets an ephemeral explanation and changes nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.domain import Measure
from bot.errors import UserError
from bot.forms import parse_form
from bot.messages import t
from bot.services import Services
from bot.steps import INPUTS, needs_art73_6_warning
from bot.views import ids
from bot.views import steps as step_views
from bot.workflow import Action
from handlers.forms import inline_errors, private_metadata, view_values

log = logging.getLogger("ncbot.thread")

BUTTONS: dict[str, Action] = {
    ids.ACKNOWLEDGE: Action.ACKNOWLEDGE,
    ids.CONFIRM: Action.CONFIRM,
    ids.DISMISS: Action.DISMISS,
    ids.APPROVE: Action.APPROVE,
    ids.REJECT: Action.REJECT,
    ids.DONE: Action.MARK_DONE,
    ids.CLOSE: Action.CLOSE,
    ids.REOPEN: Action.REOPEN,
    **{ids.MEASURE_PREFIX + m.value: Action.PROPOSE_MEASURE for m in Measure},
}
CALLBACKS: dict[str, Action] = {
    ids.ASSESS_CALLBACK: Action.CONFIRM,
    ids.DISMISS_CALLBACK: Action.DISMISS,
    ids.MEASURE_CALLBACK: Action.PROPOSE_MEASURE,
    ids.REJECT_CALLBACK: Action.REJECT,
    ids.DONE_CALLBACK: Action.MARK_DONE,
    ids.REOPEN_CALLBACK: Action.REOPEN,
}
BUTTON_PATTERN = re.compile("^(" + "|".join(re.escape(k) for k in BUTTONS) + ")$")
CALLBACK_PATTERN = re.compile("^(" + "|".join(re.escape(k) for k in CALLBACKS) + ")$")


def register(app: App, services: Services) -> None:
    @app.action(BUTTON_PATTERN)
    def on_step_button(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        user, team = body["user"]["id"], body["user"].get("team_id")
        number, version = _parse_value(action.get("value", ""))
        step = BUTTONS[action["action_id"]]
        lang = services.lang
        try:
            if INPUTS[step] is None:
                case = services.steps.act(number, version, step, user, team)
                services.outbox.deliver_due(case_id=case.id)
                return
            case = services.steps.check(number, version, step, user, team)
            client.views_open(
                trigger_id=body["trigger_id"], view=_modal_for(services, action, case, user)
            )
        except UserError as refusal:
            respond(
                text=t(refusal.key, lang, **refusal.params),
                response_type="ephemeral",
                replace_original=False,
            )

    @app.view(CALLBACK_PATTERN)
    def on_step_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        lang = services.lang
        step = CALLBACKS[view["callback_id"]]
        meta = private_metadata(view)
        values = view_values(view)
        if "measure" in meta:
            values["measure"] = meta["measure"]
        model = INPUTS[step]
        assert model is not None
        parsed = parse_form(model, values)
        if isinstance(parsed, dict):
            ack(
                response_action="errors",
                errors=inline_errors(parsed, lang),
            )
            return
        user = body["user"]
        try:
            case = services.steps.act(
                int(meta.get("case", 0)),
                int(meta.get("version", 0)),
                step,
                user["id"],
                user.get("team_id"),
                parsed,
                submission_key=f"{body.get('team', {}).get('id', '')}:{view['id']}",
            )
        except UserError as refusal:
            block = refusal.field or next(iter(values), "case")
            ack(response_action="errors", errors={block: t(refusal.key, lang, **refusal.params)})
            return
        ack()
        services.outbox.deliver_due(case_id=case.id)


def _parse_value(value: str) -> tuple[int, int]:
    number, _, version = value.partition(":")
    try:
        return int(number), int(version)
    except ValueError:
        return 0, 0


def _modal_for(services: Services, action: dict[str, Any], case: Any, user: str) -> dict[str, Any]:
    lang = services.lang
    action_id = action["action_id"]
    if action_id == ids.CONFIRM:
        return step_views.assess_modal(case, lang, services.today())
    if action_id == ids.DISMISS:
        return step_views.reason_modal(ids.DISMISS_CALLBACK, "dismiss", case, lang)
    if action_id == ids.REJECT:
        return step_views.reason_modal(ids.REJECT_CALLBACK, "reject", case, lang)
    if action_id == ids.REOPEN:
        return step_views.reason_modal(ids.REOPEN_CALLBACK, "reopen", case, lang)
    if action_id == ids.DONE:
        return step_views.done_modal(case, lang)
    measure = Measure(action_id.removeprefix(ids.MEASURE_PREFIX))
    warn = needs_art73_6_warning(case.details, measure)
    return step_views.measure_modal(case, lang, measure, user, warn=warn)
