"""Who acted, by name: each Slack user is looked up once (``users.info``) and kept as Slack showed
them then, so a dossier names people as they were known when they acted, and a renamed or
deleted account does not rewrite the record. Slack ids stay the key (the audit trail holds only
ids); names are what a reader sees.

The look-up happens after a request that touched a case has committed (``handlers.pipeline``),
for the person who acted and anyone they picked (a measure owner), and at the Slack export for
anyone still unknown (someone only notified by an escalation). Never inside a transaction: a
slow Slack must not hold a case's lock.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any, Final

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clock import Clock
from storage import people as people_rows
from storage.db import Database

log = logging.getLogger("ncbot.people")
USER_ID: Final = re.compile(r"^[UW][A-Z0-9]{6,}$")


def user_ids_in(value: Any) -> set[str]:
    """Every Slack user id anywhere in a JSON value (a dossier, an event's data)."""
    found: set[str] = set()
    if isinstance(value, str):
        if USER_ID.match(value):
            found.add(value)
    elif isinstance(value, Mapping):
        for item in value.values():
            found |= user_ids_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found |= user_ids_in(item)
    return found


def shown_name(user: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(name, title) as Slack shows them: the profile's real name, else the display name, else
    the handle; the profile's title (the job a person gave themselves)."""
    profile = user.get("profile") if isinstance(user.get("profile"), Mapping) else {}
    assert isinstance(profile, Mapping)
    name = (
        profile.get("real_name")
        or user.get("real_name")
        or profile.get("display_name")
        or user.get("name")
    )
    title = profile.get("title") or None
    return (str(name) if name else None), (str(title) if title else None)


class Names:
    def __init__(self, db: Database, client: WebClient, clock: Clock) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        # Requests of one person come in parallel (a partner acknowledging three notices):
        # one look-up at a time in this process keeps it to one call per person. Replicas may
        # each look up once; the first row stored wins.
        self._lock = threading.Lock()

    def remember(self, user_ids: Iterable[str]) -> None:
        """Look up each of ``user_ids`` not yet known, once. A Slack error keeps nobody (the next
        request tries again), except ``user_not_found``, kept as a person without a name."""
        wanted = {u for u in user_ids if USER_ID.match(u)}
        if not wanted:
            return
        with self._lock:
            self._remember(wanted)

    def _remember(self, wanted: set[str]) -> None:
        with self.db.read() as session:
            unknown = sorted(wanted - set(people_rows.of(session, wanted)))
        for user_id in unknown:
            try:
                user = self.client.users_info(user=user_id)["user"]
            except SlackApiError as error:
                if error.response.get("error") != "user_not_found":
                    log.warning(
                        "could not look up a person",
                        extra={"user": user_id, "error": error.response.get("error")},
                    )
                    continue
                user = {}
            except Exception:  # a network failure: the next request tries again
                log.warning("could not look up a person", extra={"user": user_id})
                continue
            name, title = shown_name(user if isinstance(user, Mapping) else {})
            team = user.get("team_id") if isinstance(user, Mapping) else None
            with self.db.transaction() as session:
                people_rows.keep(
                    session,
                    user_id,
                    team_id=str(team) if team else None,
                    name=name,
                    title=title,
                    at=self.clock(),
                )
