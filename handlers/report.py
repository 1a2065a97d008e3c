"""The report modal's submission: validate, store, then answer; post only after the commit."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from sqlalchemy.exc import SQLAlchemyError

from bot.errors import UserError
from bot.messages import t
from bot.report_input import parse_report
from bot.services import Services
from bot.views import ids

log = logging.getLogger("ncbot.report")


def register(app: App, services: Services) -> None:
    @app.view(ids.REPORT_CALLBACK)
    def on_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        lang = services.lang
        parsed = parse_report(report_values(view))
        if isinstance(parsed, dict):
            ack(
                response_action="errors",
                errors={b: t(k, lang, **p) for b, (k, p) in parsed.items()},
            )
            return
        user = body["user"]
        metadata = _metadata(view)
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
    """The modal's state as the fields of ``ReportInput`` (missing blocks read as empty)."""
    state = view.get("state", {}).get("values", {})

    def element(block: str) -> dict[str, Any]:
        value: dict[str, Any] = state.get(block, {}).get(ids.INPUT_ACTION) or {}
        return value

    def selected(block: str) -> str | None:
        option = element(block).get("selected_option")
        return option.get("value") if option else None

    return {
        "system_id": selected("system"),
        "title": element("title").get("value"),
        "description": element("description").get("value"),
        "requirements": [
            o.get("value") for o in element("requirements").get("selected_options") or []
        ],
        "risk": selected("risk"),
        "severity": selected("severity"),
        "evidence_url": element("evidence").get("value"),
    }


def _metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
