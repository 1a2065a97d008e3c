"""A case's audit trail as short lines for ``status``."""

from __future__ import annotations

from typing import Any

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
        t(
            _key(event.kind, event.payload),
            lang,
            who=user(event.actor_id, lang),
            when=when(event.at),
        )
        for event in events
        if has(f"event.{event.kind}")
    ]


def _key(kind: str, payload: dict[str, Any]) -> str:
    """An authority informed with "Send it now" says so; otherwise the kind's own sentence."""
    data = payload.get("data")
    sent = isinstance(data, dict) and data.get("choice") == "send"
    return f"event.{kind}.sent" if sent and has(f"event.{kind}.sent") else f"event.{kind}"
