"""``/nonconformity`` and its subcommands: report, list, status, help."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.cases import step_views
from bot.cases import views as case_views
from bot.cases.report_views import report_modal
from bot.cases.service import parse_ref
from bot.messages import t
from bot.services import Services
from bot.views import ids
from bot.views.text import safe
from handlers.payloads import home_of
from handlers.timeline import timeline_lines

log = logging.getLogger("ncbot.commands")
LIST_SCOPES = ("open", "mine", "all")
LIST_LIMIT = 25
SECTION_BUDGET = 2900  # below Block Kit's 3000, leaving room for the "…and more" line


def register(app: App, services: Services) -> None:
    @app.command(ids.COMMAND)
    def on_command(ack: Ack, command: dict[str, Any], client: WebClient, respond: Respond) -> None:
        subcommand, _, rest = (command.get("text") or "").strip().partition(" ")
        subcommand = subcommand.lower()
        user_id = command["user_id"]
        team_id = home_of(command)  # reads follow the rule of decisions (People.reader)
        lang = services.lang
        if subcommand == "report":
            ack()
            open_report_modal(services, client, command, rest.strip(), respond)
        elif subcommand == "list":
            ack(**list_cases(services, user_id, team_id, *_list_args(services, rest)))
        elif subcommand == "export":
            export_dossier(services, ack, respond, user_id, team_id, rest)
        elif subcommand == "status":
            ack(**case_status(services, user_id, team_id, rest))
        elif subcommand == "systems":
            ack(text=services.cases.systems_text())
        elif subcommand in ("help", ""):
            ack(text=t("help.text", lang))
        else:
            unknown = t("help.unknown", lang, command=safe(subcommand, 40))
            ack(text=f"{unknown}\n\n{t('help.text', lang)}")


def open_report_modal(
    services: Services, client: WebClient, command: dict[str, Any], text: str, respond: Respond
) -> None:
    lang = services.lang
    systems = services.cases.system_choices()
    if not systems:
        respond(text=t("report.no_systems", lang), response_type="ephemeral")
        return
    first, _, _ = text.partition(" ")
    known = {system_id for system_id, _ in systems}
    system_id = first if first in known else None
    prefill = text[len(first) :].strip() if system_id else text
    metadata = json.dumps(
        {"response_url": command.get("response_url"), "channel": command.get("channel_id")}
    )
    view = report_modal(
        lang, systems, prefill=prefill, system_id=system_id, private_metadata=metadata[:3000]
    )
    try:
        client.views_open(trigger_id=command["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning("views.open failed", extra={"error": exc.response.get("error")})
        respond(text=t("report.trigger_expired", lang), response_type="ephemeral")


def _list_args(services: Services, text: str) -> tuple[str, str | None]:
    """``[open|mine|all] [system]``: either may be left out; the scope defaults to open. A
    lone word that is neither gets the usage (``?``)."""
    words = text.lower().split()  # scopes and system ids are lower-case
    if words and words[0] in LIST_SCOPES:
        scope = words.pop(0)
    elif words and words[0] not in services.cases.system_names():
        return "?", None
    else:
        scope = "open"
    if len(words) > 1:
        return "?", None
    return scope, words[0] if words else None


def list_cases(
    services: Services, user_id: str, team_id: str | None, scope: str, system: str | None = None
) -> dict[str, Any]:
    lang = services.lang
    if scope not in LIST_SCOPES:
        return {"text": t("list.usage", lang)}
    if system is not None and system not in services.cases.system_names():
        return {"text": t("list.unknown_system", lang, system=safe(system, 64))}
    cases = services.cases.visible(user_id, team_id, scope, system, limit=LIST_LIMIT + 1)
    if not cases:
        return {"text": t("list.empty", lang, scope=scope)}
    text = t("list.header", lang, scope=scope)
    shown = 0
    for case in cases[:LIST_LIMIT]:
        line = case_views.case_line(case, case.details.permalink, lang)
        if len(text) + len(line) + 1 > SECTION_BUDGET:
            break  # whole lines only: a cut link would garble the rest of the answer
        text += "\n" + line
        shown += 1
    if shown < len(cases):
        more = len(cases) - shown
        text += "\n" + t("list.more", lang, count=f"{more}+" if len(cases) > LIST_LIMIT else more)
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def export_dossier(
    services: Services, ack: Ack, respond: Respond, user_id: str, team_id: str | None, text: str
) -> None:
    """Refusals are the ephemeral answer; otherwise say so at once and upload after the ack."""
    lang = services.lang
    number = parse_ref(text)
    if number is None:
        ack(text=t("export.usage", lang))
        return
    case = services.dossiers.check(user_id, team_id, number)  # a refusal is the pipeline's answer
    ack(text=t("export.started", lang, ref=case.ref))
    try:
        services.dossiers.upload(case, user_id)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "error")
        log.warning("dossier upload failed", extra={"case": case.ref, "error": error})
        respond(
            text=t("export.failed", lang, ref=case.ref, error=safe(error, 80)),
            response_type="ephemeral",
        )


def case_status(services: Services, user_id: str, team_id: str | None, text: str) -> dict[str, Any]:
    lang = services.lang
    number = parse_ref(text)
    if number is None:
        return {"text": t("status.usage", lang)}
    case = services.cases.find(number)
    ref = f"NC-{number}"
    if case is None:
        return {"text": t("case.unknown", lang, ref=ref)}
    if not services.cases.may_see(case, user_id, team_id):
        return {"text": t("case.hidden", lang, ref=ref)}
    names = services.cases.system_names()
    blocks = case_views.status_blocks(
        case,
        names.get(case.system_id, case.system_id),
        services.cases.next_step(case),
        timeline_lines(services, case),
        lang,
        services.cases.notes(case),
        step_views.measure_status(case, lang),
    )
    return {"text": f"{case.ref}: {t(f'state.{case.state}', lang)}", "blocks": blocks}
