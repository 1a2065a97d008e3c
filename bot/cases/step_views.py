"""The guided thread: one message per step, and the modals that record each decision.

Every button carries ``<case number>:<case version>`` so a click on an old message is refused.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.cases.domain import MEMBER_STATES, PERSONS_AFFECTED_MAX, Measure, SeriousIncident
from bot.cases.state import Assessment, CaseRecord
from bot.cases.views import button_value, user, when
from bot.cases.workflow import CaseState, offered_changes
from bot.messages import member_state, t
from bot.views import ids
from bot.views.text import cap, mrkdwn, plain, safe

Blocks = list[dict[str, Any]]


def _button(
    action_id: str, label: str, case: CaseRecord, style: str | None = None
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": plain(label),
        "value": button_value(case),
    }
    if style:
        button["style"] = style
    return button


def _actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "block_id": ids.STEP_BLOCK, "elements": list(elements)}


def measure_summary(case: CaseRecord, lang: str) -> str:
    measure = case.measure
    if measure is None:
        return ""
    label = t(f"measure.{measure.measure.value}", lang)
    running = t(f"risk.{measure.keeps_running}", lang)
    proposed = t("measure.proposed_by", lang, who=user(measure.proposer, lang))
    lines = [
        f"*{label}* — {proposed}",
        f"*{t('measure.plan.label', lang)}:* {safe(measure.plan, 1200)}",
        f"*{t('measure.owner.label', lang)}:* {user(measure.owner, lang)} · "
        f"*{t('measure.target.label', lang)}:* {measure.target_date.isoformat()}",
        f"*{t('measure.affected.label', lang)}:* {safe(measure.affected, 300)} · "
        f"*{t('measure.running.label', lang)}:* {running}",
    ]
    if measure.partner_ask or measure.partner_by:
        by = measure.partner_by.isoformat() if measure.partner_by else "—"
        lines.append(
            f"*{t('measure.partner_ask.label', lang)}:* {safe(measure.partner_ask or '—', 600)} · "
            f"*{t('measure.partner_by.label', lang)}:* {by}"
        )
    return "\n".join(lines)


def assessment_summary(case: CaseRecord, lang: str) -> str:
    """What triage found, for the approvers: they approve a measure against this (risk, serious
    incident, the nature of the non-compliance), so the approval message repeats it."""
    found = case.details.assessment
    if found is None:
        return ""
    return "\n".join(
        [
            t("approval.assessment", lang, who=user(found.by, lang)),
            f"*{t('approval.risk.label', lang)}:* {t(f'risk.{found.risk}', lang)} · "
            f"*{t('approval.incident.label', lang)}:* "
            f"{t(f'incident.{found.serious_incident.value}', lang)}",
            f"*{t('assess.nature.label', lang)}:* {safe(found.nature, 1500)}",
            *([where_and_how_many(found, lang)] if found.member_states else []),
        ]
    )


def where_and_how_many(found: Assessment, lang: str) -> str:
    """A serious incident's Member States and the persons affected ("not known yet")."""
    states = ", ".join(member_state(code, lang) for code in found.member_states)
    persons = (
        str(found.persons_affected)
        if found.persons_affected is not None
        else t("approval.persons.unknown", lang)
    )
    return (
        f"*{t('approval.where.label', lang)}:* {states} · "
        f"*{t('approval.persons.label', lang)}:* {persons}"
    )


def measure_line(measure: Measure, lang: str) -> str:
    """A measure's name and what it means under Art. 20, on one line."""
    return (
        f"*{t(f'measure.{measure.value}', lang)}* — {t(f'measure.{measure.value}.explain', lang)}"
    )


def measure_status(case: CaseRecord, lang: str) -> str:
    """The measure, its approvals and its execution, for ``status``."""
    summary = measure_summary(case, lang)
    if not summary:
        return ""
    measure = case.measure
    assert measure is not None  # there is a summary
    lines = [summary]
    for approval in measure.approvals:
        lines.append(
            t("status.approvals", lang, who=user(approval.by, lang), when=when(approval.at))
        )
    done = measure.done
    if done:
        lines.append(
            t(
                "timeline.mark_done",
                lang,
                who=user(done.by, lang),
                when=when(done.at),
                evidence=safe(done.evidence, 300),
            )
        )
    return "\n".join(lines)


Checklist = Sequence[tuple[bool, str]]


def checklist_text(checklist: Checklist, lang: str) -> str:
    """Close's checklist: each item with ✅ when done, ⬜ when it still blocks closing."""
    lines = [f"{'✅' if ok else '⬜'} {text}" for ok, text in checklist]
    return "\n".join([t("close.checklist", lang), *lines])


def step_blocks(
    case: CaseRecord, lang: str, approvers: list[str], checklist: Checklist = ()
) -> Blocks:
    """What the thread asks for now, with the buttons of this step."""
    state = CaseState(case.state)
    ref = case.ref
    if state is CaseState.REPORTED:
        return [
            {
                "type": "section",
                "block_id": "step",
                "text": mrkdwn(t("step.acknowledge", lang, ref=ref)),
            },
            _actions(_button(ids.ACKNOWLEDGE, t("button.acknowledge", lang), case, "primary")),
        ]
    if state is CaseState.ACKNOWLEDGED:
        return [
            {
                "type": "section",
                "block_id": "step",
                "text": mrkdwn(t("step.assess", lang, ref=ref, owner=user(case.owner_id, lang))),
            },
            _actions(
                _button(ids.CONFIRM, t("button.confirm", lang), case, "primary"),
                _button(ids.DISMISS, t("button.dismiss", lang), case),
            ),
        ]
    if state is CaseState.CONFIRMED:
        blocks: Blocks = [
            {
                "type": "section",
                "block_id": "step",
                "text": mrkdwn(t("step.measure", lang, ref=ref)),
            }
        ]
        for measure in Measure:
            blocks.append(
                {
                    "type": "section",
                    "block_id": f"measure_{measure.value}",
                    "text": mrkdwn(measure_line(measure, lang)),
                    "accessory": _button(
                        ids.MEASURE_PREFIX + measure.value,
                        t(f"measure.{measure.value}", lang),
                        case,
                    ),
                }
            )
        return blocks
    if state is CaseState.MEASURE_PROPOSED:
        proposer = case.measure.proposer if case.measure else None
        asked = " ".join(f"<@{a}>" for a in approvers if a != proposer) or t("common.nobody", lang)
        return [
            {
                "type": "section",
                "block_id": "step",
                "text": mrkdwn(t("step.approve", lang, ref=ref, approvers=asked)),
            },
            *(
                [
                    {
                        "type": "section",
                        "block_id": "assessment",
                        "text": mrkdwn(cap(found, 3000)),
                    }
                ]
                if (found := assessment_summary(case, lang))
                else []
            ),
            {
                "type": "section",
                "block_id": "measure",
                "text": mrkdwn(cap(measure_summary(case, lang), 3000)),
            },
            _actions(
                _button(ids.APPROVE, t("button.approve", lang), case, "primary"),
                _button(ids.REJECT, t("button.reject", lang), case, "danger"),
            ),
        ]
    if state is CaseState.MEASURE_APPROVED:
        current = case.measure_to_carry_out or case.measure  # measures are done in order
        return [
            {
                "type": "section",
                "block_id": "step",
                "text": mrkdwn(
                    t(
                        "step.done",
                        lang,
                        ref=ref,
                        owner=user(current.owner if current else None, lang),
                        measure=t(f"measure.{current.measure if current else 'withdraw'}", lang),
                        target=current.target_date.isoformat() if current else "—",
                    )
                ),
            },
            _actions(_button(ids.DONE, t("button.done", lang), case, "primary")),
        ]
    if state is CaseState.MEASURE_DONE:
        ready = all(ok for ok, _ in checklist)
        key = "step.close" if ready else "step.close.blocked"
        return [
            {"type": "section", "block_id": "step", "text": mrkdwn(t(key, lang, ref=ref))},
            *(
                [
                    {
                        "type": "section",
                        "block_id": "checklist",
                        "text": mrkdwn(cap(checklist_text(checklist, lang), 3000)),
                    }
                ]
                if checklist
                else []
            ),
            # Close stays green only when nothing blocks it; pressing it early names every gap.
            _actions(
                _button(ids.CLOSE, t("button.close", lang), case, "primary" if ready else None)
            ),
        ]
    key = "step.closed" if state is CaseState.CLOSED else "step.dismissed"
    return [
        {"type": "section", "block_id": "step", "text": mrkdwn(t(key, lang, ref=ref))},
        _actions(_button(ids.REOPEN, t("button.reopen", lang), case)),
    ]


def card_actions(case: CaseRecord, lang: str, checklist: Checklist = ()) -> Blocks:
    """The next action's buttons on the case card, as the thread offers them: everyone in the
    channel sees them; a press by someone not allowed is refused naming who may act."""
    if CaseState(case.state) in (CaseState.CLOSED, CaseState.DISMISSED):
        return []
    buttons: list[dict[str, Any]] = []
    for block in step_blocks(case, lang, [], checklist):
        if block.get("type") == "actions":
            buttons.extend(block["elements"])
        elif "accessory" in block:
            buttons.append(block["accessory"])
    menu = change_menu(case, lang)
    if menu is not None:
        buttons.append(menu)
    if not buttons:
        return []
    # A new block id per version: Slack asks for one when a message's actions change.
    return [{"type": "actions", "block_id": f"card_actions_{case.version}", "elements": buttons}]


def change_menu(case: CaseRecord, lang: str) -> dict[str, Any] | None:
    """The card's **Change…** menu: the changes this state allows (``workflow.CHANGES``), each
    carrying the case version it was shown for."""
    changes = offered_changes(CaseState(case.state))
    if not changes:
        return None
    return {
        "type": "static_select",
        "action_id": ids.CHANGE,
        "placeholder": plain(t("change.menu", lang)),
        "options": [
            {
                "text": plain(t(f"change.{change.value}", lang)),
                "value": f"{change.value}:{case.number}:{case.version}",
            }
            for change in changes
        ],
    }


def timeline_line(
    action: str, case: CaseRecord, actor: str, lang: str, data: dict[str, Any]
) -> str:
    """The one line the thread keeps for a decision: who, what, when, and the essentials."""
    params: dict[str, object] = {
        "who": user(actor, lang),
        "when": when(case.updated_at),
        "reason": safe(str(data.get("reason", "")), 500),
    }
    if action == "confirm":
        params["risk"] = t(f"risk.{data['risk']}", lang)
        params["incident"] = t(f"incident.{data['serious_incident']}", lang)
    if action == "propose_measure":
        params["measure"] = t(f"measure.{data['measure']}", lang)
        params["owner"] = user(str(data["owner"]), lang)
        params["target"] = str(data["target_date"])
    if action == "mark_done":
        params["evidence"] = safe(str(data.get("evidence", "")), 500)
    line = t(f"timeline.{action}", lang, **params)
    if data.get("art73_6"):
        line += " " + t("timeline.art73_6", lang, who=user(actor, lang))
    return line


def thread_update(
    case: CaseRecord, lang: str, approvers: list[str], checklist: Checklist = ()
) -> tuple[str, Blocks]:
    """The message posted after a decision: what the thread asks for now. How the decision was
    taken is said once, on the step it answered (``finished_step``), not again here."""
    blocks = step_blocks(case, lang, approvers, checklist)
    first = next((b["text"]["text"] for b in blocks if b.get("type") == "section"), case.ref)
    return cap(str(first), 3000), blocks


def reminders_panel(case: CaseRecord) -> tuple[str, Blocks]:
    """The thread's one message about escalations and reminders: per timer, its latest firing
    (who was told, level, how many of how many, when), edited in place at each firing."""
    lines = list(case.details.reminders.values())
    text = cap("\n".join(lines), 3000)
    return text, [{"type": "section", "block_id": "reminders", "text": mrkdwn(text)}]


def finished_step(asked: Blocks, line: str) -> tuple[str, Blocks]:
    """An answered step keeps what it asked, loses its buttons, and says how it was answered."""
    kept: Blocks = []
    for block in asked:
        if block.get("type") == "actions" or block.get("block_id") == "timeline":
            continue
        kept.append({k: v for k, v in block.items() if k != "accessory"})
    kept.append({"type": "context", "block_id": "done", "elements": [mrkdwn(cap(line, 3000))]})
    return cap(line, 3000), kept


# --- modals ---


def _metadata(case: CaseRecord, **extra: str) -> str:
    return json.dumps({"case": case.number, "version": case.version, **extra})


def _modal(
    callback: str,
    title: str,
    submit: str,
    case: CaseRecord,
    lang: str,
    blocks: Blocks,
    **extra: str,
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": _metadata(case, **extra),
        "title": plain(title),
        "submit": plain(submit),
        "close": plain(t("common.cancel", lang)),
        "blocks": [
            {
                "type": "section",
                "block_id": "case",
                "text": mrkdwn(f"*{case.ref}* · {safe(case.title, 150)}"),
            },
            *blocks,
        ],
    }


def _text_input(
    block: str,
    label: str,
    *,
    multiline: bool = True,
    max_length: int = 2900,
    optional: bool = False,
    hint: str | None = None,
    initial: str | None = None,
) -> dict[str, Any]:
    block_json: dict[str, Any] = {
        "type": "input",
        "block_id": block,
        "label": plain(label),
        "optional": optional,
        "element": {
            "type": "plain_text_input",
            "action_id": ids.INPUT_ACTION,
            "multiline": multiline,
            "max_length": max_length,
        },
    }
    if initial:
        block_json["element"]["initial_value"] = initial[:max_length]
    if hint:
        block_json["hint"] = plain(hint)
    return block_json


def _radio(
    block: str, label: str, options: list[tuple[str, str]], initial: str | None = None
) -> dict[str, Any]:
    opts = [{"text": plain(text), "value": value} for value, text in options]
    element: dict[str, Any] = {
        "type": "radio_buttons",
        "action_id": ids.INPUT_ACTION,
        "options": opts,
    }
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block, "label": plain(label), "element": element}


def _date(block: str, label: str, initial: date | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "datepicker", "action_id": ids.INPUT_ACTION}
    if initial:
        element["initial_date"] = initial.isoformat()
    return {"type": "input", "block_id": block, "label": plain(label), "element": element}


def _optional_date(block: str, label: str, hint: str) -> dict[str, Any]:
    return {
        **_date(block, label, None),
        "optional": True,
        "hint": plain(hint),
    }


def assess_modal(case: CaseRecord, lang: str, today: date) -> dict[str, Any]:
    yes_no = [("yes", t("risk.yes", lang)), ("no", t("risk.no", lang))]
    incidents = [(s.value, t(f"incident.{s.value}", lang)) for s in SeriousIncident]
    initial_risk = case.risk if case.risk in ("yes", "no") else None
    incident_select = {
        "type": "input",
        "block_id": "serious_incident",
        "label": plain(t("assess.incident.label", lang)),
        "element": {
            "type": "static_select",
            "action_id": ids.INPUT_ACTION,
            "options": [
                {"text": plain(cap(text, 75)), "value": value} for value, text in incidents
            ],
            "initial_option": {"text": plain(cap(incidents[0][1], 75)), "value": incidents[0][0]},
        },
    }
    return _modal(
        ids.ASSESS_CALLBACK,
        t("assess.title", lang),
        t("assess.submit", lang),
        case,
        lang,
        [
            _text_input(
                "nature", t("assess.nature.label", lang), hint=t("assess.nature.hint", lang)
            ),
            _text_input(
                "causal_link", t("assess.causal.label", lang), hint=t("assess.causal.hint", lang)
            ),
            _radio("risk", t("assess.risk.label", lang), yes_no, initial_risk),
            incident_select,
            _date("aware_on", t("assess.aware.label", lang), today),
            # Optional to Slack (a modal cannot make one input depend on another); Confirm
            # refuses a serious incident without its Member States.
            {
                "type": "input",
                "block_id": "member_states",
                "optional": True,
                "label": plain(t("assess.member_states.label", lang)),
                "hint": plain(t("assess.member_states.hint", lang)),
                "element": {
                    "type": "multi_static_select",
                    "action_id": ids.INPUT_ACTION,
                    "placeholder": plain(t("assess.member_states.placeholder", lang)),
                    "options": [
                        {"text": plain(member_state(code, lang)), "value": code}
                        for code in MEMBER_STATES
                    ],
                },
            },
            _optional_date(
                "occurred_on", t("assess.occurred.label", lang), t("assess.occurred.hint", lang)
            ),
            {
                "type": "input",
                "block_id": "persons_affected",
                "optional": True,
                "label": plain(t("assess.persons.label", lang)),
                "hint": plain(t("assess.persons.hint", lang)),
                "element": {
                    "type": "number_input",
                    "action_id": ids.INPUT_ACTION,
                    "is_decimal_allowed": False,
                    "min_value": "0",
                    "max_value": str(PERSONS_AFFECTED_MAX),
                },
            },
        ],
    )


def reason_modal(callback: str, kind: str, case: CaseRecord, lang: str) -> dict[str, Any]:
    """Not a non-conformity, Reject and Reopen: one reason, always required."""
    return _modal(
        callback,
        t(f"{kind}.title", lang),
        t(f"{kind}.submit", lang),
        case,
        lang,
        [_text_input("reason", t(f"{kind}.reason.label", lang), max_length=2000)],
    )


def art73_6_warning(lang: str) -> list[dict[str, Any]]:
    """Shown before a serious incident's system is altered; going on needs the checkbox."""
    return [
        {
            "type": "section",
            "block_id": "art73_6_warning",
            "text": mrkdwn(t("measure.art73_6.warning", lang)),
        },
        {
            "type": "input",
            "block_id": "art73_6",
            "label": plain(t("measure.art73_6.required", lang)),
            "element": {
                "type": "checkboxes",
                "action_id": ids.INPUT_ACTION,
                "options": [{"text": plain(t("measure.art73_6.ack", lang)), "value": "read"}],
            },
        },
    ]


def measure_modal(
    case: CaseRecord, lang: str, measure: Measure, proposer: str, *, warn: bool = False
) -> dict[str, Any]:
    header = {
        "type": "section",
        "block_id": "measure_kind",
        "text": mrkdwn(measure_line(measure, lang)),
    }
    owner = {
        "type": "input",
        "block_id": "owner",
        "label": plain(t("measure.owner.label", lang)),
        "element": {
            "type": "users_select",
            "action_id": ids.INPUT_ACTION,
            "initial_user": proposer,
        },
    }
    yes_no = [("yes", t("risk.yes", lang)), ("no", t("risk.no", lang))]
    return _modal(
        ids.MEASURE_CALLBACK,
        t("measure.title", lang),
        t("measure.submit", lang),
        case,
        lang,
        [
            header,
            *(art73_6_warning(lang) if warn else []),
            _text_input("plan", t("measure.plan.label", lang), hint=t("measure.plan.hint", lang)),
            owner,
            _date("target_date", t("measure.target.label", lang), None),
            _text_input(
                "affected",
                t("measure.affected.label", lang),
                multiline=False,
                max_length=500,
                hint=t("measure.affected.hint", lang),
            ),
            _radio("keeps_running", t("measure.running.label", lang), yes_no),
            _text_input(
                "partner_ask",
                t("measure.partner_ask.label", lang),
                optional=True,
                max_length=2000,
                hint=t("measure.partner_ask.hint", lang),
            ),
            _optional_date(
                "partner_by",
                t("measure.partner_by.label", lang),
                t("measure.partner_by.hint", lang),
            ),
        ],
        measure=measure.value,
    )


def done_modal(case: CaseRecord, lang: str) -> dict[str, Any]:
    link = {
        "type": "input",
        "block_id": "link",
        "optional": True,
        "label": plain(t("done.link.label", lang)),
        "element": {"type": "url_text_input", "action_id": ids.INPUT_ACTION},
    }
    return _modal(
        ids.DONE_CALLBACK,
        t("done.title", lang),
        t("done.submit", lang),
        case,
        lang,
        [
            _text_input(
                "evidence", t("done.evidence.label", lang), hint=t("done.evidence.hint", lang)
            ),
            link,
        ],
    )


def safe_reason(reason: str) -> str:
    return safe(reason, 1500)
