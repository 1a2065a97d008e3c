"""Partner notices: a partner acknowledges receipt; triage retries a failed notice; an approver
waives one with a reason. Also ``/nonconformity systems`` lives with the catalogue it lists."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.errors import UserError
from bot.forms import parse_form
from bot.messages import t
from bot.services import Services
from bot.step_inputs import Reasoned
from bot.views import ids
from bot.views import notices as notice_views
from bot.views.case import user, when
from handlers.forms import as_int, inline_errors, private_metadata, view_values


def register(app: App, services: Services) -> None:
    lang = services.lang

    def tell(respond: Respond, key: str, **params: object) -> None:
        respond(text=t(key, lang, **params), response_type="ephemeral", replace_original=False)

    @app.action(ids.NOTICE_ACK)
    def on_receipt(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond
    ) -> None:
        ack()
        who = body["user"]
        try:
            receipt = services.notices.acknowledge(
                as_int(action.get("value")),
                who["id"],
                who.get("team_id"),
                (body.get("channel") or {}).get("id"),
            )
        except UserError as refusal:
            tell(respond, refusal.key, **refusal.params)
            return
        notice = receipt.notice
        if receipt.outcome == "counted":
            tell(respond, "notice.ack.thanks", ref=receipt.case.ref)
            services.outbox.deliver_due(case_id=receipt.case.id)
        elif receipt.outcome == "staff":
            tell(respond, "notice.ack.staff", partner=receipt.partner_name)
        else:
            at = notice.ack_at or services.clock()
            tell(respond, "notice.ack.already", who=user(notice.ack_by, lang), when=when(at))

    @app.action(ids.NOTICE_RETRY)
    def on_retry(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        who = body["user"]
        try:
            case_id, partner = services.notices.retry(
                as_int(action.get("value")), who["id"], who.get("team_id")
            )
        except UserError as refusal:
            tell(respond, refusal.key, **refusal.params)
            return
        tell(respond, "notice.retry.done", partner=partner)
        services.outbox.deliver_due(case_id=case_id)

    @app.action(ids.NOTICE_WAIVE)
    def on_waive(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        who = body["user"]
        try:
            services.notices.check_waiver(who["id"], who.get("team_id"))
            case, options = services.notices.waivable(as_int(action.get("value")))
        except UserError as refusal:
            tell(respond, refusal.key, **refusal.params)
            return
        if not options:
            tell(respond, "waive.nothing", ref=case.ref)
            return
        client.views_open(
            trigger_id=body["trigger_id"], view=notice_views.waive_modal(case, options, lang)
        )

    @app.view(ids.WAIVE_CALLBACK)
    def on_waive_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = view_values(view)
        parsed = parse_form(Reasoned, {"reason": values.get("reason")})
        if isinstance(parsed, dict):
            ack(
                response_action="errors",
                errors=inline_errors(parsed, lang),
            )
            return
        if not values.get("notice"):
            ack(response_action="errors", errors={"notice": t("report.error.choice", lang)})
            return
        who, meta = body["user"], private_metadata(view)
        try:
            services.notices.waive(
                as_int(meta.get("case")),
                as_int(meta.get("version")),
                as_int(values["notice"]),
                who["id"],
                who.get("team_id"),
                parsed.reason or "",
            )
        except UserError as refusal:
            ack(response_action="errors", errors={"notice": t(refusal.key, lang, **refusal.params)})
            return
        ack()
        services.outbox.deliver_due()
