"""Panels: one thread message per case and topic (partner notices, duties to the authorities),
posted once and then kept current in place (``bot.delivery.render`` says what they show)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import messages, render
from storage.models import Case

CLOSE = render.CLOSE_PANEL  # the Close step, whose checklist follows the other panels


def open_panel(
    session: Session, case: Case, panel: str, now: datetime, reason: str | None = None
) -> None:
    """Post the panel if the case has none yet, else bring the existing one up to date
    (``reason`` tells updates apart where the case version does not change, e.g. a timer)."""
    if case.details.panels.get(panel) is not None:
        refresh(session, case, panel, now, reason or f"reopened:{case.version}")
        return
    key = f"panel:{panel}:{case.id}:{case.version}"
    case.details = case.details.with_panel(panel, key)
    messages.queue(session, messages.panel(case, panel, key), now)


def refresh(session: Session, case: Case, panel: str, now: datetime, reason: str) -> None:
    """Queue an update of the panel (a no-op when it was never posted)."""
    post = case.details.panels.get(panel)
    if post is not None:
        messages.queue(session, messages.panel_refresh(case, panel, post, reason), now)
    close_step = case.details.panels.get(CLOSE)
    if panel != CLOSE and close_step is not None:  # its checklist counts notices and duties
        messages.queue(session, messages.panel_refresh(case, CLOSE, close_step, reason), now)
