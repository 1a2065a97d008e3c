"""The report modal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.cases.domain import REQUIREMENTS, TITLE_MAX, URL_MAX, Risk, Severity
from bot.cases.report_input import ReportInput
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
    description: str = "",
    evidence: str | None = None,
    filled: ReportInput | None = None,
) -> dict[str, Any]:
    """``systems`` are (id, label) pairs; ``prefill`` is what followed ``report`` in the command,
    ``description`` and ``evidence`` what a message shortcut brings. ``filled`` is a submission
    shown again, with its values, to confirm a Low severity for a system that presents a risk.

    Severity has no default: a case with a risk must not stay Medium because nobody looked."""
    if filled is not None:
        system_id = filled.system_id
        prefill, description = filled.title or "", filled.description or ""
        evidence = filled.evidence_url
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
    description_element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.INPUT_ACTION,
        "multiline": True,
        "max_length": DESCRIPTION_INPUT_MAX,
    }
    if description:
        description_element["initial_value"] = cap(description, DESCRIPTION_INPUT_MAX)
    requirement_options = [_option(t(f"requirement.{r}", lang), r) for r in REQUIREMENTS]
    requirements_element: dict[str, Any] = {
        "type": "multi_static_select",
        "action_id": ids.INPUT_ACTION,
        "placeholder": plain(t("report.requirements.placeholder", lang)),
        "options": requirement_options,
    }
    risk_options = [_option(t(f"risk.{r.value}", lang), r.value) for r in Risk]
    risk_element: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": ids.INPUT_ACTION,
        "options": risk_options,
    }
    severity_element: dict[str, Any] = {
        "type": "static_select",
        "action_id": ids.INPUT_ACTION,
        "placeholder": plain(t("report.severity.placeholder", lang)),
        "options": severity_options,
    }
    evidence_element: dict[str, Any] = {"type": "url_text_input", "action_id": ids.INPUT_ACTION}
    if evidence:
        evidence_element["initial_value"] = evidence
    if filled is not None:
        chosen = [o for o in requirement_options if o["value"] in filled.requirements]
        if chosen:
            requirements_element["initial_options"] = chosen
        risk_element["initial_option"] = next(o for o in risk_options if o["value"] == filled.risk)
        severity_element["initial_option"] = next(
            o for o in severity_options if o["value"] == filled.severity
        )
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
                "element": description_element,
            },
            {
                "type": "input",
                "block_id": "requirements",
                "label": plain(t("report.requirements.label", lang)),
                "element": requirements_element,
            },
            {
                "type": "input",
                "block_id": "risk",
                "label": plain(t("report.risk.label", lang)),
                "element": risk_element,
            },
            {
                "type": "input",
                "block_id": "severity",
                "label": plain(t("report.severity.label", lang)),
                "element": severity_element,
            },
            {
                "type": "input",
                "block_id": "evidence",
                "optional": True,
                "label": plain(t("report.evidence.label", lang)),
                "hint": plain(tn("report.evidence.hint", lang, URL_MAX)),
                "element": evidence_element,
            },
            *(_confirm_low(lang) if filled is not None else []),
        ],
    }


def needs_low_confirmation(report: ReportInput, confirmed: object) -> bool:
    """A system that presents a risk, reported as Low: asked once more before a case is made."""
    return report.risk == Risk.YES and report.severity == Severity.LOW and not confirmed


def _confirm_low(lang: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "section",
            "block_id": "confirm_low_warning",
            "text": {"type": "mrkdwn", "text": t("report.confirm_low.warning", lang)},
        },
        {
            "type": "input",
            "block_id": "confirm_low",
            "optional": True,
            "label": plain(t("report.confirm_low.label", lang)),
            "element": {
                "type": "checkboxes",
                "action_id": ids.INPUT_ACTION,
                "options": [_option(t("report.confirm_low.option", lang), "low")],
            },
        },
    ]
