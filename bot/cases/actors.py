"""Actors that are not people: a case reported by monitoring names it, not a Slack user."""

from __future__ import annotations

from typing import Final

MONITORING: Final = "monitoring"
SYSTEM_ACTORS: Final = frozenset({MONITORING})


def is_system(actor_id: str | None) -> bool:
    """Whether ``actor_id`` is a system actor: no DM, no mention, no App Home reaches it, so
    what would go to it goes to the case's thread instead."""
    return actor_id in SYSTEM_ACTORS
