"""Slack's rate-limit tier of each Web API method the bot (or the stand-in) knows.

Slack limits each method per workspace: Tier 1 about 1 call a minute, Tier 2 about 20, Tier 3
about 50, Tier 4 about 100 and more; ``chat.postMessage`` is "special": about one message a
second per channel, with short bursts. The tier labels ``/metrics`` and ``bench/calls.py``, and
the stand-in enforces the same table (``bot/devkit/standin/limits.py``), so what we measure is
what Slack would refuse. Source: each method's page on api.slack.com ("Rate limits").
"""

from __future__ import annotations

SPECIAL = "special"

TIERS: dict[str, str] = {
    "auth.test": SPECIAL,  # documented as "special": thousands an hour
    "auth.revoke": "tier3",
    "chat.postMessage": SPECIAL,  # about 1 a second per channel, short bursts allowed
    "chat.postEphemeral": "tier4",
    "chat.update": "tier3",
    "chat.delete": "tier3",
    "chat.getPermalink": SPECIAL,
    "conversations.history": "tier3",
    "conversations.replies": "tier3",
    "conversations.info": "tier3",
    "conversations.open": "tier3",
    "conversations.list": "tier2",
    "conversations.members": "tier4",
    "users.info": "tier4",
    "users.list": "tier2",
    "usergroups.list": "tier2",
    "usergroups.users.list": "tier2",
    "views.open": "tier4",
    "views.push": "tier4",
    "views.update": "tier4",
    "views.publish": "tier4",
    "files.getUploadURLExternal": "tier4",
    "files.completeUploadExternal": "tier4",
    "files.upload": "tier2",
    "apps.connections.open": "tier1",
}

PER_MINUTE: dict[str, int] = {"tier1": 1, "tier2": 20, "tier3": 50, "tier4": 100}


def tier(method: str) -> str:
    """The tier of ``method``; an unknown method is counted as Tier 3, Slack's usual default."""
    return TIERS.get(method, "tier3")
