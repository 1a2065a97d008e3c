"""Slack telling us the app is gone: ``app_uninstalled`` and ``tokens_revoked``.

Both deactivate the installation (``bot.ops.installs``): its dead tokens are deleted and every
later call is refused before it is made, so what was still owed fails with the reason instead
of being sent with a dead token. With a static ``SLACK_BOT_TOKEN`` there is nothing to
deactivate; Slack's own refusal (``token_revoked``) does the same there.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.services import Services

log = logging.getLogger("ncbot.installs")


def register(app: App, services: Services) -> None:
    @app.event("app_uninstalled")
    def on_uninstalled(body: dict[str, Any]) -> None:
        _deactivate(services, body, "app_uninstalled")

    @app.event("tokens_revoked")
    def on_tokens_revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        # Only the bot's tokens matter: the bot keeps no user tokens.
        if (event.get("tokens") or {}).get("bot"):
            _deactivate(services, body, "tokens_revoked")


def _deactivate(services: Services, body: dict[str, Any], reason: str) -> None:
    if services.installs is None:
        log.warning("slack says the app lost its token", extra={"reason": reason})
        return
    enterprise_id = body.get("enterprise_id") or None
    team_id = body.get("team_id") or None
    authorizations = body.get("authorizations") or []
    if any(isinstance(a, dict) and a.get("is_enterprise_install") for a in authorizations):
        team_id = None  # an org-wide install is kept without a workspace
    services.installs.store.deactivate(enterprise_id, team_id, reason)
