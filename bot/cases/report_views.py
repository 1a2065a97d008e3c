"""The report modal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.cases.domain import REQUIREMENTS, TITLE_MAX, URL_MAX, Risk, Severity
from bot.messages import t, tn
from bot.views import ids
from bot.views.text import cap, plain

DESCRIPTION_INPUT_MAX = 2900


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(cap(text, 75)), "value": value}


def report_modal(
    lang: str,
    systems: Sequence[tuple[str, str]],
    *,
    prefill: str = "",
    system_id: str | None = None,
    private_metadata: str = "",
) -> dict[str, Any]:
    """``systems`` are (id, label) pairs; ``prefill`` is what followed ``report`` in the command."""
    system_options = [_option(label, value) for value, label in systems[:100]]
    system_element: dict[str, Any] = {
        "type": "static_select",
        "action_id": ids.INPUT_ACTION,
        "placeholder": plain(t("report.system.placeholder", lang)),
        "options": system_options,
    }
    initial = next((o for o in system_options if o["value"] == system_id), None)
    if initial is not None:
        system_element["initial_option"] = initial
    title_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.INPUT_ACTION,
        "max_length": TITLE_MAX,
    }
    if prefill:
        title_element["initial_value"] = cap(prefill, TITLE_MAX)
    severity_options = [_option(t(f"severity.{s.value}", lang), s.value) for s in Severity]
    return {
        "type": "modal",
        "callback_id": ids.REPORT_CALLBACK,
        "private_metadata": private_metadata,
        "title": plain(t("report.modal.title", lang)),
        "submit": plain(t("report.modal.submit", lang)),
        "close": plain(t("common.cancel", lang)),
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": t("report.modal.intro", lang)},
            },
            {
                "type": "input",
                "block_id": "system",
                "label": plain(t("report.system.label", lang)),
                "element": system_element,
            },
            {
                "type": "input",
                "block_id": "title",
                "label": plain(t("report.title.label", lang)),
                "element": title_element,
            },
            {
                "type": "input",
                "block_id": "description",
                "label": plain(t("report.description.label", lang)),
                "hint": plain(t("report.description.hint", lang)),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.INPUT_ACTION,
                    "multiline": True,
                    "max_length": DESCRIPTION_INPUT_MAX,
                },
            },
            {
                "type": "input",
                "block_id": "requirements",
                "label": plain(t("report.requirements.label", lang)),
                "element": {
                    "type": "multi_static_select",
                    "action_id": ids.INPUT_ACTION,
                    "placeholder": plain(t("report.requirements.placeholder", lang)),
                    "options": [_option(t(f"requirement.{r}", lang), r) for r in REQUIREMENTS],
                },
            },
            {
                "type": "input",
                "block_id": "risk",
                "label": plain(t("report.risk.label", lang)),
                "element": {
                    "type": "radio_buttons",
                    "action_id": ids.INPUT_ACTION,
                    "options": [_option(t(f"risk.{r.value}", lang), r.value) for r in Risk],
                },
            },
            {
                "type": "input",
                "block_id": "severity",
                "label": plain(t("report.severity.label", lang)),
                "element": {
                    "type": "static_select",
                    "action_id": ids.INPUT_ACTION,
                    "options": severity_options,
                    "initial_option": severity_options[1],
                },
            },
            {
                "type": "input",
                "block_id": "evidence",
                "optional": True,
                "label": plain(t("report.evidence.label", lang)),
                "hint": plain(tn("report.evidence.hint", lang, URL_MAX)),
                "element": {"type": "url_text_input", "action_id": ids.INPUT_ACTION},
            },
        ],
    }
