"""The modals behind the card's **Change…** menu: each asks for the change and its reason.

Built from the step modals' pieces (``bot.cases.step_views``), so a change reads like the step
it revisits: an amended measure shows the measure's own form, filled in as it stands.
"""

from __future__ import annotations

from typing import Any

from bot.cases import step_views as sv
from bot.cases.changes import open_measures, shown
from bot.cases.domain import Measure, Severity
from bot.cases.state import CaseRecord, CorrectiveMeasure
from bot.cases.steps import needs_art73_6_warning
from bot.cases.workflow import Change
from bot.messages import t
from bot.views import ids
from bot.views.text import plain

Blocks = list[dict[str, Any]]


def change_modal(
    case: CaseRecord, change: Change, lang: str, user_id: str, measure: Measure | None = None
) -> dict[str, Any]:
    """The modal of ``change``; ``measure``: the kind of measure to add (or amend)."""
    if change is Change.SEVERITY:
        blocks = [_severity(case, lang)]
    elif change is Change.REASSIGN:
        blocks = _reassign(case, lang)
    elif change is Change.TARGET_DATE:
        current = case.measure
        blocks = [
            *_which_measure(case, lang),
            sv._date(
                "target_date",
                t("measure.target.label", lang),
                current.target_date if current and len(open_measures(case)) == 1 else None,
            ),
        ]
    else:
        return _measure_modal(case, change, lang, user_id, measure)
    return sv._modal(
        ids.CHANGE_CALLBACK,
        t(f"change.{change.value}", lang),
        t("change.submit", lang),
        case,
        lang,
        [*blocks, _reason(lang)],
        change=change.value,
        shown=shown(case, change),
    )


def _reason(lang: str) -> dict[str, Any]:
    return sv._text_input("reason", t("change.reason.label", lang), max_length=2000)


def _severity(case: CaseRecord, lang: str) -> dict[str, Any]:
    options = [(s.value, t(f"severity.{s.value}", lang)) for s in Severity]
    return sv._radio("severity", t("card.severity", lang), options, case.severity)


def _reassign(case: CaseRecord, lang: str) -> Blocks:
    whose = [("case", t("change.whose.case", lang))]
    if case.measure is not None:
        whose.append(("measure", t("change.whose.measure", lang)))
    owner = {
        "type": "input",
        "block_id": "owner",
        "label": plain(t("change.owner.label", lang)),
        "element": {"type": "users_select", "action_id": ids.INPUT_ACTION},
    }
    return [
        sv._radio("whose", t("change.whose.label", lang), whose, "case"),
        *_which_measure(case, lang),
        owner,
    ]


def _which_measure(case: CaseRecord, lang: str) -> Blocks:
    """Where several measures are open: which one the change is about (the newest first
    chosen)."""
    measures = open_measures(case)
    if len(measures) < 2:
        return []
    options = [
        (
            str(i),
            t(
                "change.measure.option",
                lang,
                position=i,
                measure=t(f"measure.{m.measure.value}", lang),
                target=m.target_date.isoformat(),
            ),
        )
        for i, m in measures
    ]
    return [sv._radio("measure", t("change.measure.label", lang), options, options[-1][0])]


def _measure_modal(
    case: CaseRecord, change: Change, lang: str, user_id: str, kind: Measure | None
) -> dict[str, Any]:
    """Amend: the measure in force, filled in as it stands. Add: the kind chosen in the menu
    that follows (``kind``), blank, with the measure in force shown for reference."""
    current = case.measure if change is Change.AMEND_MEASURE else None
    kind = current.measure if current is not None else kind or Measure.BRING_INTO_CONFORMITY
    warn = needs_art73_6_warning(case.details, kind)
    yes_no = [("yes", t("risk.yes", lang)), ("no", t("risk.no", lang))]
    owner_element: dict[str, Any] = {"type": "users_select", "action_id": ids.INPUT_ACTION}
    owner_element["initial_user"] = current.owner if current is not None else user_id
    blocks: Blocks = [
        {
            "type": "section",
            "block_id": "measure_kind",
            "text": {"type": "mrkdwn", "text": sv.measure_line(kind, lang)},
        },
        *(sv.art73_6_warning(lang) if warn else []),
        sv._text_input(
            "plan",
            t("measure.plan.label", lang),
            hint=t("measure.plan.hint", lang),
            initial=current.plan if current else None,
        ),
        {
            "type": "input",
            "block_id": "owner",
            "label": plain(t("measure.owner.label", lang)),
            "element": owner_element,
        },
        sv._date(
            "target_date", t("measure.target.label", lang), current.target_date if current else None
        ),
        sv._text_input(
            "affected",
            t("measure.affected.label", lang),
            multiline=False,
            max_length=500,
            hint=t("measure.affected.hint", lang),
            initial=current.affected if current else None,
        ),
        sv._radio(
            "keeps_running",
            t("measure.running.label", lang),
            yes_no,
            current.keeps_running if current else None,
        ),
        sv._text_input(
            "partner_ask",
            t("measure.partner_ask.label", lang),
            optional=True,
            max_length=2000,
            hint=t("measure.partner_ask.hint", lang),
            initial=current.partner_ask if current else None,
        ),
        _partner_by(current, lang),
        _reason(lang),
    ]
    return sv._modal(
        ids.CHANGE_CALLBACK,
        t(f"change.{change.value}", lang),
        t("change.submit", lang),
        case,
        lang,
        blocks,
        change=change.value,
        measure=kind.value,
    )


def _partner_by(current: CorrectiveMeasure | None, lang: str) -> dict[str, Any]:
    block = sv._optional_date(
        "partner_by", t("measure.partner_by.label", lang), t("measure.partner_by.hint", lang)
    )
    if current is not None and current.partner_by is not None:
        block["element"]["initial_date"] = current.partner_by.isoformat()
    return block


def measure_kinds(case: CaseRecord, lang: str) -> dict[str, Any]:
    """**Add a measure**: first which corrective action (each opens its own form, as the first
    measure's buttons do)."""
    return sv._modal(
        ids.CHANGE_KIND_CALLBACK,
        t("change.add_measure", lang),
        t("change.next", lang),
        case,
        lang,
        [
            sv._radio(
                "measure",
                t("change.kind.label", lang),
                [(m.value, t(f"measure.{m.value}", lang)) for m in Measure],
            )
        ],
        change=Change.ADD_MEASURE.value,
    )
