"""The App Home tab: published when someone opens it, lengthened by its "Show more" buttons.

Bolt acknowledges the event before this listener runs, so Slack never waits on the queries or
on ``views.publish``.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App

from bot.home.views import MAX_PAGE, PAGE, SECTION_KEYS, pages_from
from bot.services import Services
from bot.views import ids
from handlers.payloads import Incoming, home_of


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab: nothing to publish
        # the user's own home where Slack says it (shared channels), else the event's
        services.home.publish(event["user"], team_id=home_of(body))

    @app.action(ids.HOME_MORE)
    def on_show_more(ack: Ack, action: dict[str, Any], incoming: Incoming) -> None:
        ack()
        pages = pages_from(incoming.raw_metadata())  # the Home's own state: garbage resets it
        key = str(action.get("value") or "")
        if key in SECTION_KEYS:
            pages[key] = min(pages.get(key, PAGE) + PAGE * 2, MAX_PAGE)
        services.home.publish(incoming.user_id, pages, incoming.team_id)
