"""What an escalation says where it reaches people (a DM, a managers' channel): enough to act on
without opening anything — the case, its title, system, severity and how long it has waited —
and the Acknowledge button itself, with a link to the thread. Pure: values in, Block Kit out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.cases.state import CaseRecord
from bot.cases.views import button_value, user, when
from bot.messages import t
from bot.views import ids
from bot.views.text import cap, mrkdwn, plain, safe

Blocks = list[dict[str, Any]]


def waited(delta: timedelta, lang: str) -> str:
    """How long a case has waited, as people say it: 25 min, 2 h 5 min, 3 d 4 h."""
    minutes = max(0, int(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return t("waited.days", lang, d=days, h=hours)
    if hours:
        return t("waited.hours", lang, h=hours, m=mins)
    if mins:
        return t("waited.minutes", lang, m=mins)
    return t("waited.moments", lang)


def escalation(
    case: CaseRecord, system: str, text: str, how_long: str, lang: str, level: int
) -> Blocks:
    """The escalation with the case's facts and the Acknowledge button (the same role checks as
    in the thread apply when it is pressed here)."""
    facts = t(
        "escalation.facts",
        lang,
        title=safe(case.title, 150),
        system=safe(system, 150),
        severity=t(f"severity.{case.severity}", lang),
        waited=how_long,
    )
    link = case.details.permalink
    if link:  # a link, not a URL button: a URL button would still post an action to answer
        facts += f" · <{link}|{t('escalation.open_thread', lang)}>"
    acknowledge = {
        "type": "button",
        "action_id": ids.ACKNOWLEDGE,
        "text": plain(t("button.acknowledge", lang)),
        "style": "primary",
        "value": button_value(case),
    }
    return [
        {"type": "section", "block_id": "escalation", "text": mrkdwn(cap(text, 3000))},
        {"type": "section", "block_id": "facts", "text": mrkdwn(cap(facts, 3000))},
        # a new block id per level: Slack asks for one when a message's actions change
        {"type": "actions", "block_id": f"escalation_actions_{level}", "elements": [acknowledge]},
    ]


def acknowledged(blocks: Blocks, case: CaseRecord, lang: str) -> Blocks:
    """An escalation copy once the case is acknowledged: its words, no button, who and when."""
    kept = [b for b in blocks if b.get("type") != "actions"]
    done = t(
        "escalation.acknowledged",
        lang,
        who=user(case.owner_id, lang),
        when=when(case.updated_at),
    )
    return [*kept, {"type": "context", "block_id": "acknowledged", "elements": [mrkdwn(done)]}]
