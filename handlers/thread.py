"""The guided thread: step buttons and the modals behind them.

A button either acts at once (Acknowledge, Approve, Close) or opens the modal that records the
decision; a refused click gets an ephemeral explanation and changes nothing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.cases import step_views
from bot.cases.domain import Measure
from bot.cases.steps import INPUTS, needs_art73_6_warning
from bot.cases.workflow import Action
from bot.services import Services
from bot.views import ids
from handlers.payloads import CaseRef, Incoming

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
        ack: Ack,
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
        incoming: Incoming,
    ) -> None:
        ack()
        ref = incoming.button(CaseRef)
        step = BUTTONS[action["action_id"]]
        who = (incoming.user_id, incoming.team_id)
        if INPUTS[step] is None:
            services.steps.act(ref.case, ref.version, step, *who)
            return
        case = services.steps.check(ref.case, ref.version, step, *who)
        view = _modal_for(services, action, case, incoming.user_id)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(CALLBACK_PATTERN)
    def on_step_submit(ack: Ack, view: dict[str, Any], incoming: Incoming) -> None:
        step = CALLBACKS[view["callback_id"]]
        ref = incoming.metadata(CaseRef)
        values = incoming.values()
        if ref.measure is not None:
            values["measure"] = ref.measure
        model = INPUTS[step]
        assert model is not None
        services.steps.act(
            ref.case,
            ref.version,
            step,
            incoming.user_id,
            incoming.team_id,
            incoming.form(model, values),
            submission_key=incoming.submission_key(),
        )
        ack()


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
