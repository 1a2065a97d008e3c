"""The report modal's submission: validate, store, then answer; post only after the commit."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.exc import SQLAlchemyError

from bot.cases.report_input import FIELD_BLOCK, ReportInput
from bot.cases.report_views import needs_low_confirmation, report_modal
from bot.errors import UserError
from bot.services import Services
from bot.views import ids
from handlers.payloads import Incoming, ReportOrigin

log = logging.getLogger("ncbot.report")


def register(app: App, services: Services) -> None:
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
