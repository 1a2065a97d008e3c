"""Panels: one thread message per case and topic (partner notices, duties to the authorities),
posted once and then kept current in place, rendered from the database when sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage import outbox
from storage.models import Case


def _key(case: Case, panel: str) -> str | None:
    return case.details.panels.get(panel)


def open_panel(session: Session, case: Case, panel: str, now: datetime) -> None:
    """Post the panel if the case has none yet, else bring the existing one up to date."""
    if _key(case, panel) is not None:
        refresh(session, case, panel, now, f"reopened:{case.version}")
        return
    key = f"panel:{panel}:{case.id}:{case.version}"
    case.details = case.details.with_panel(panel, key)
    outbox.enqueue(
        session,
        dedupe_key=key,
        kind="panel_post",
        target=case.channel,
        case_id=case.id,
        in_thread=True,
        now=now,
        payload={"panel": panel, "post": key},
    )


def refresh(session: Session, case: Case, panel: str, now: datetime, reason: str) -> None:
    """Queue an update of the panel (a no-op when it was never posted)."""
    key = _key(case, panel)
    if key is None:
        return
    outbox.enqueue(
        session,
        dedupe_key=f"panel-update:{panel}:{case.id}:{reason}",
        kind="panel_update",
        target=case.channel,
        case_id=case.id,
        now=now,
        payload={"panel": panel, "post": key},
    )
