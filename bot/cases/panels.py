"""Panels: one thread message per case and topic (partner notices, duties to the authorities),
posted once and then kept current in place (``bot.delivery.render`` says what they show)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.delivery import messages
from storage.models import Case


def open_panel(session: Session, case: Case, panel: str, now: datetime) -> None:
    """Post the panel if the case has none yet, else bring the existing one up to date."""
    if case.details.panels.get(panel) is not None:
        refresh(session, case, panel, now, f"reopened:{case.version}")
        return
    key = f"panel:{panel}:{case.id}:{case.version}"
    case.details = case.details.with_panel(panel, key)
    messages.queue(session, messages.panel(case, panel, key), now)


def refresh(session: Session, case: Case, panel: str, now: datetime, reason: str) -> None:
    """Queue an update of the panel (a no-op when it was never posted)."""
    post = case.details.panels.get(panel)
    if post is not None:
        messages.queue(session, messages.panel_refresh(case, panel, post, reason), now)
