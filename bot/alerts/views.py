"""What alerts show in Slack: the kept-current line in a case's thread, the quiet note after a
case was closed, and the triage post for a system the catalogue does not know. Pure functions."""

from __future__ import annotations

from typing import Any

from bot.alerts.payloads import Signal
from bot.cases.views import when
from bot.messages import t, tn
from bot.views.text import mrkdwn, safe
from storage.alerts import RESOLVED, AlertGroup


def panel(group: AlertGroup | None, case_id: int, lang: str) -> tuple[str, list[dict[str, Any]]]:
    """How often the group fired and when it was last seen (a coalesced update is rendered
    again with each repeat, so it shows the newest count)."""
    if group is None or group.case_id != case_id:
        text = t("alert.panel.moved", lang)
        return text, [{"type": "section", "text": mrkdwn(text)}]
    line = t(
        "alert.panel",
        lang,
        fired=tn("alert.panel.fired", lang, group.fires),
        alerts=tn("alert.panel.alerts", lang, len(group.fingerprints)),
        first=when(group.first_seen),
        last=when(group.last_seen),
    )
    status = (
        t("alert.panel.resolved", lang, when=when(group.resolved_at))
        if group.status == RESOLVED and group.resolved_at is not None
        else t("alert.panel.firing", lang)
    )
    text = f"{line} {status}"
    return text, [{"type": "section", "text": mrkdwn(text)}]


def unknown_system(signal: Signal, label: str, lang: str) -> str:
    title = safe(signal.title, 150)
    link = safe(signal.link, 500) if signal.link else ""
    if not signal.system_id:
        return t("alert.no_system", lang, label=safe(label, 100), title=title, link=link)
    return t(
        "alert.unknown_system", lang, system=safe(signal.system_id, 64), title=title, link=link
    )
