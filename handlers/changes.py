"""The card's **Change…** menu: severity, owners, the target date, the measure, a further
measure. Each opens a modal that asks for the change and its reason; the rules (who may, in
which state) are the roles table's (``bot.cases.workflow.CHANGES``), applied by
``bot.cases.changes``."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.cases import change_views
from bot.cases.domain import Measure
from bot.cases.inputs import MeasureChange, Reassignment, SeverityChange, TargetDateChange
from bot.cases.workflow import Change
from bot.services import Services
from bot.views import ids
from handlers.payloads import ChangeRef, Incoming, Malformed


def register(app: App, services: Services) -> None:
    lang = services.lang

    @app.action(ids.CHANGE)
    def on_change_chosen(
        ack: Ack, body: dict[str, Any], client: WebClient, incoming: Incoming
    ) -> None:
        ack()
        ref = incoming.selected(ChangeRef)
        case = services.changes.check(
            ref.case, ref.version, ref.change, incoming.user_id, incoming.team_id
        )
        if ref.change is Change.ADD_MEASURE:
            view = change_views.measure_kinds(case, lang)
        else:
            view = change_views.change_modal(case, ref.change, lang, incoming.user_id)
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view(ids.CHANGE_KIND_CALLBACK)
    def on_measure_kind(ack: Ack, incoming: Incoming) -> None:
        """Add a measure: the measure's form, for the kind chosen (Art. 73(6) depends on it)."""
        ref = incoming.metadata(ChangeRef)
        chosen = incoming.values().get("measure")
        if chosen not in {m.value for m in Measure}:
            raise Malformed("measure kind")
        case = services.changes.check(
            ref.case, ref.version, Change.ADD_MEASURE, incoming.user_id, incoming.team_id
        )
        view = change_views.change_modal(
            case, Change.ADD_MEASURE, lang, incoming.user_id, Measure(chosen)
        )
        ack(response_action="update", view=view)

    @app.view(ids.CHANGE_CALLBACK)
    def on_change_submit(ack: Ack, incoming: Incoming) -> None:
        ref = incoming.metadata(ChangeRef)
        at = (ref.case, ref.version, ref.shown)
        who = (incoming.user_id, incoming.team_id)
        key = incoming.submission_key()
        changes = services.changes
        if ref.change is Change.SEVERITY:
            severity = incoming.form(SeverityChange)
            changes.change_severity(at, who, severity.severity, severity.reason or "", key)
        elif ref.change is Change.REASSIGN:
            to = incoming.form(Reassignment)
            changes.reassign(at, who, to.whose, to.owner, to.reason or "", key, to.measure)
        elif ref.change is Change.TARGET_DATE:
            moved = incoming.form(TargetDateChange)
            assert moved.target_date is not None
            changes.change_target_date(
                at, who, moved.target_date, moved.reason or "", key, moved.measure
            )
        else:
            values = {**incoming.values(), "measure": ref.measure}
            plan = incoming.form(MeasureChange, values).model_dump(mode="json")
            reason = str(plan.pop("reason") or "")
            if ref.change is Change.AMEND_MEASURE:
                changes.amend_measure(at, who, plan, reason, key)
            else:
                changes.add_measure(at, who, plan, reason, key)
        ack()
