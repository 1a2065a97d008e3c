"""The case card in the triage channel, the guided thread's first step, and status answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.cases import actors
from bot.cases.state import CaseRecord
from bot.messages import t
from bot.views import ids
from bot.views.text import cap, mrkdwn, plain, safe

SEVERITY_ICON = {"low": "🟢", "medium": "🟡", "high": "🟠", "critical": "🔴"}


def button_value(case: CaseRecord) -> str:
    """Buttons carry the case version they were shown for, so an old click can be refused."""
    return f"{case.number}:{case.version}"


def when(moment: datetime) -> str:
    """A date Slack renders in each reader's own timezone, with a UTC fallback."""
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def user(user_id: str | None, lang: str) -> str:
    if actors.is_system(user_id):
        return t(f"actor.{user_id}", lang)  # named as such, never a mention
    return f"<@{user_id}>" if user_id else t("common.nobody", lang)


def _requirements(case: CaseRecord, lang: str) -> str:
    return ", ".join(t(f"requirement.{r}.short", lang) for r in case.requirements) or "—"


def case_fields(case: CaseRecord, system_name: str, lang: str) -> list[dict[str, Any]]:
    return [
        mrkdwn(
            f"*{t('card.system', lang)}*\n{safe(system_name, 150)} {safe(case.system_version, 40)}"
        ),
        mrkdwn(
            f"*{t('card.severity', lang)}*\n{SEVERITY_ICON.get(case.severity, '')} "
            f"{t(f'severity.{case.severity}', lang)}"
        ),
        mrkdwn(f"*{t('card.state', lang)}*\n{t(f'state.{case.state}', lang)}"),
        mrkdwn(f"*{t('card.owner', lang)}*\n{user(case.owner_id, lang)}"),
        mrkdwn(f"*{t('card.risk', lang)}*\n{t(f'risk.{case.risk}', lang)}"),
        mrkdwn(f"*{t('card.requirements', lang)}*\n{_requirements(case, lang)}"),
        *_measure_field(case, lang),
    ]


def _measure_field(case: CaseRecord, lang: str) -> list[dict[str, Any]]:
    """The corrective measures once proposed, one line each (a case may hold several: disable
    now, bring into conformity later): what, who carries it out, by when."""
    measures = case.measures_in_force
    if not measures:
        return []
    lines = [
        t(
            "card.measure.summary",
            lang,
            measure=t(f"measure.{measure.measure.value}", lang),
            owner=user(measure.owner, lang),
            target=measure.target_date.isoformat(),
        )
        for measure in measures
    ]
    return [mrkdwn(cap(f"*{t('card.measure', lang)}*\n" + "\n".join(lines), 2000))]


def case_card(
    case: CaseRecord, system_name: str, next_step: str, lang: str, notes: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """``notes``: what the bot is waiting on (next escalation, Art. 73 deadline, notices)."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(cap(f"{case.ref} · {case.title}", 150))},
        {"type": "section", "fields": case_fields(case, system_name, lang)},
        {
            "type": "section",
            "text": mrkdwn(f"*{t('card.description', lang)}*\n{safe(case.description, 2900)}"),
        },
    ]
    if case.evidence_url:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(f"*{t('card.evidence', lang)}*\n{safe(case.evidence_url, 2000)}"),
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [
                mrkdwn(
                    t(
                        "card.reported",
                        lang,
                        reporter=user(case.reporter_id, lang),
                        when=when(case.reported_at),
                    )
                ),
                mrkdwn(f"_{next_step}_"),
                *(mrkdwn(note) for note in notes),
            ],
        }
    )
    return blocks


def card_text(case: CaseRecord, lang: str) -> str:
    """The notification/fallback text: no user input beyond the escaped title."""
    return t("card.text", lang, ref=case.ref, title=safe(case.title, 150))


def acknowledge_step(case: CaseRecord, lang: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "section",
            "block_id": "step",
            "text": mrkdwn(t("step.acknowledge", lang, ref=case.ref)),
        },
        {
            "type": "actions",
            "block_id": ids.STEP_BLOCK,
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.ACKNOWLEDGE,
                    "text": plain(t("button.acknowledge", lang)),
                    "style": "primary",
                    "value": button_value(case),
                }
            ],
        },
    ]


def status_blocks(
    case: CaseRecord,
    system_name: str,
    next_step: str,
    timeline: Sequence[str],
    lang: str,
    notes: Sequence[str] = (),
    measure: str = "",
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(f"*{case.ref}* · {safe(case.title, 150)}")},
        {"type": "section", "fields": case_fields(case, system_name, lang)},
        {
            "type": "context",
            "elements": [mrkdwn(f"_{next_step}_"), *(mrkdwn(note) for note in notes)],
        },
    ]
    if measure:
        blocks.append({"type": "section", "text": mrkdwn(cap(measure, 2900))})
    if timeline:
        lines = "\n".join(timeline[-20:])
        blocks.append({"type": "section", "text": mrkdwn(cap(lines, 2900))})
    return blocks


def case_line(case: CaseRecord, link: str | None, lang: str) -> str:
    ref = f"<{link}|{case.ref}>" if link else f"*{case.ref}*"
    return (
        f"{SEVERITY_ICON.get(case.severity, '')} {ref} {safe(case.title, 80)} — "
        f"{t(f'state.{case.state}', lang)}"
    )
