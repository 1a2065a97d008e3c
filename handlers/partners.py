"""Partner notices: a partner acknowledges receipt; triage retries a failed notice; an approver
waives one with a reason. Also ``/nonconformity systems`` lives with the catalogue it lists."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.cases.inputs import Reasoned, RecordedReceipt
from bot.cases.views import user, when
from bot.messages import t
from bot.notices import views as notice_views
from bot.services import Services
from bot.views import ids
from handlers.payloads import CaseNumber, CaseRef, FormRefused, Incoming, RowId


def register(app: App, services: Services) -> None:
    lang = services.lang

    def tell(respond: Respond, key: str, in_lang: str = lang, **params: object) -> None:
        respond(text=t(key, in_lang, **params), response_type="ephemeral", replace_original=False)

    @app.action(ids.NOTICE_ACK)
    def on_receipt(ack: Ack, respond: Respond, incoming: Incoming) -> None:
        ack()
        notice_id = incoming.button(RowId).id
        receipt = services.notices.acknowledge(
            notice_id, incoming.user_id, incoming.team_id, incoming.channel_id
        )
        notice = receipt.notice
        theirs = notice.language or "en"  # the partner reads its own language
        if receipt.outcome == "counted":
            tell(respond, "notice.ack.thanks", theirs, ref=receipt.case.ref)
        elif receipt.outcome == "staff":
            # Someone of another workspace reads the partner's language; our staff, ours.
            staff_lang = theirs if receipt.external else lang
            tell(respond, "notice.ack.staff", staff_lang, partner=receipt.partner_name)
        else:
            at = notice.ack_at or services.clock()
            who = user(notice.ack_by, theirs)
            tell(respond, "notice.ack.already", theirs, who=who, when=when(at))

    @app.action(ids.NOTICE_RETRY)
    def on_retry(ack: Ack, respond: Respond, incoming: Incoming) -> None:
        ack()
        notice_id = incoming.button(RowId).id
        _, partner = services.notices.retry(notice_id, incoming.user_id, incoming.team_id)
        tell(respond, "notice.retry.done", partner=partner)

    @app.action(ids.NOTICE_WAIVE)
    def on_waive(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, incoming: Incoming
    ) -> None:
        ack()
        services.notices.check_waiver(incoming.user_id, incoming.team_id)
        case, options = services.notices.waivable(incoming.button(CaseNumber).case)
        if not options:
            tell(respond, "waive.nothing", ref=case.ref)
            return
        client.views_open(
            trigger_id=body["trigger_id"], view=notice_views.waive_modal(case, options, lang)
        )

    @app.action(ids.NOTICE_RECORD)
    def on_record(
        ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond, incoming: Incoming
    ) -> None:
        ack()
        services.notices.check_recorder(incoming.user_id, incoming.team_id)
        case, options = services.notices.waivable(incoming.button(CaseNumber).case)
        if not options:
            tell(respond, "waive.nothing", ref=case.ref)
            return
        today = services.today().isoformat()
        client.views_open(
            trigger_id=body["trigger_id"],
            view=notice_views.record_modal(case, options, lang, today),
        )

    @app.view(ids.RECORD_CALLBACK)
    def on_record_submit(ack: Ack, incoming: Incoming) -> None:
        meta = incoming.metadata(CaseRef)
        form = incoming.form(RecordedReceipt)
        on = services.notices.moment(form.on, form.at)
        if on is None:
            raise FormRefused({"at": ("record.when.invalid", {})})
        services.notices.record_receipt(
            meta.case,
            meta.version,
            RowId.read(form.notice, "notice"),
            incoming.user_id,
            incoming.team_id,
            received_by=form.received_by or "",
            how=form.how or "",
            on=on,
        )
        ack()

    @app.view(ids.WAIVE_CALLBACK)
    def on_waive_submit(ack: Ack, incoming: Incoming) -> None:
        meta = incoming.metadata(CaseRef)
        values = incoming.values()
        reason = incoming.form(Reasoned, {"reason": values.get("reason")}).reason
        if not values.get("notice"):
            raise FormRefused({"notice": ("report.error.choice", {})})
        notice_id = RowId.read(values["notice"], "notice")
        services.notices.waive(
            meta.case, meta.version, notice_id, incoming.user_id, incoming.team_id, reason or ""
        )
        ack()
