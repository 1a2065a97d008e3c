"""The report modal's submission: validate, store, then answer; post only after the commit."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import UserError
from bot.messages import t
from bot.report_input import parse_report
from bot.services import Services
from bot.views import ids
from handlers.forms import inline_errors, private_metadata, view_values

log = logging.getLogger("ncbot.report")


def register(app: App, services: Services) -> None:
    @app.view(ids.REPORT_CALLBACK)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        lang = services.lang
        parsed = parse_report(report_values(view))
        if isinstance(parsed, dict):
            ack(
                response_action="errors",
                errors=inline_errors(parsed, lang),
            )
            return
        user = body["user"]
        metadata = private_metadata(view)
        try:
            reported = services.cases.report(
                parsed,
                reporter_id=user["id"],
                reporter_team=user.get("team_id") or body.get("team", {}).get("id", ""),
                submission_key=f"{body.get('team', {}).get('id', '')}:{view['id']}",
                response_url=metadata.get("response_url"),
            )
        except UserError as refusal:
            ack(
                response_action="errors",
                errors={refusal.field: t(refusal.key, lang, **refusal.params)},
            )
            return
        except SQLAlchemyError:
            log.exception("storing a report failed")
            ack(response_action="errors", errors={"system": t("report.error.storage", lang)})
            return
        ack()
        if reported.created:  # a duplicate only answers; the original's listener delivers
            services.outbox.deliver_due(case_id=reported.case.id)


def report_values(view: dict[str, Any]) -> dict[str, object]:
    """The modal's inputs under the names of ``ReportInput``'s fields."""
    values = view_values(view)
    return {
        "system_id": values.get("system"),
        "title": values.get("title"),
        "description": values.get("description"),
        "requirements": values.get("requirements") or [],
        "risk": values.get("risk"),
        "severity": values.get("severity"),
        "evidence_url": values.get("evidence"),
    }
