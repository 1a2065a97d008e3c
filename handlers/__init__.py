"""The Slack edge: one module per conversation, each with ``register(app, services)``.

Listeners ack, parse into a model (``handlers.payloads``), call a service and render; they hold
no rules of their own. Every listener runs in ``handlers.pipeline.Edge``: refusals raised in it
become answers there, and what it committed is delivered once it returns.
"""

from __future__ import annotations

from slack_bolt import App

from bot.services import Services
from handlers import changes, commands, duties, home, installs, partners, report, thread


def register_all(app: App, services: Services) -> None:
    for module in (commands, report, thread, changes, partners, duties, home, installs):
        module.register(app, services)
