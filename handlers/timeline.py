"""A case's audit trail as short lines for ``status``."""

from __future__ import annotations

from bot.cases.state import CaseRecord
from bot.cases.views import user, when
from bot.messages import has, t
from bot.services import Services
from storage.events import events_of


def timeline_lines(services: Services, case: CaseRecord) -> list[str]:
    """One line per event that people care about; delivery receipts stay in the dossier."""
    lang = services.lang
    with services.db.transaction() as session:
        events = events_of(session, case.id)
    return [
        t(f"event.{event.kind}", lang, who=user(event.actor_id, lang), when=when(event.at))
        for event in events
        if has(f"event.{event.kind}")
    ]
