"""The Slack edge: one module per conversation, each with ``register(app, services)``.

Listeners ack, parse into a model, call a service and render; they hold no rules of their own.
"""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers import commands, duties, home, partners, report, thread


def register_all(app: App, services: Services) -> None:
    for module in (commands, report, thread, partners, duties, home):
        module.register(app, services)
