"""Socket Mode: the bot without a public URL. Slack pushes commands, clicks and events over a
WebSocket the bot opens with its app-level token (``xapp-…``), and the bot acks on it.

This module and ``bot/app.py`` are the only ones in ``bot/`` that import ``slack_bolt``: here
only the Socket Mode adapter. The App is ``build_app``'s, in its Socket Mode form (envelopes on
our own WebSocket are not signed), so both modes run the same listeners.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.app import build_app
from bot.errors import ConfigError
from bot.ops.lifecycle import wait_for_signal
from bot.services import Services

log = logging.getLogger("ncbot.socket_mode")


class SocketModeRunner:
    """Connects, serves envelopes on the SDK's threads, and closes; blocking is the caller's.

    ``start``/``stop`` work from any thread (the tests run it beside the stand-in);
    ``run_until_signalled`` is for the main thread of ``nonconformity-bot socket``.
    """

    def __init__(self, services: Services, *, app_token: str, workers: int = 8) -> None:
        self.app = build_app(services, workers=workers, socket_mode=True)
        # slack-sdk's builtin client: no extra dependency. It calls apps.connections.open on
        # services.client, whose base_url is SLACK_API_URL, with the app token.
        self.handler = SocketModeHandler(
            self.app,
            app_token=app_token,
            web_client=services.client,
            concurrency=workers,
        )

    def start(self) -> SocketModeRunner:
        try:
            # The SDK client's typed methods; Bolt's handler.connect/close only forward to them.
            self.handler.client.connect()
        except SlackApiError as exc:
            self.handler.client.close()
            raise ConfigError(
                f"SLACK_APP_TOKEN was refused by Slack ({exc.response.get('error')}); it must be "
                "an app-level token with connections:write, and Socket Mode must be enabled"
            ) from None
        except OSError as exc:
            self.handler.client.close()
            raise ConfigError(
                f"Slack's Socket Mode endpoint cannot be reached ({type(exc).__name__})"
            ) from None
        log.info("socket mode connected")
        return self

    def stop(self) -> None:
        """Close the WebSocket and the SDK's worker threads; safe to call twice.

        Takes up to 3 s: slack-sdk's builtin connection reads with a 3-s timeout while holding
        the lock that closing needs. Within any orchestrator's stop grace period.
        """
        self.handler.client.close()

    def run_until_signalled(self) -> None:
        """Block until SIGTERM (container stop) or SIGINT (Ctrl-C), then return to clean up."""
        wait_for_signal()
