"""``nonconformity-bot sandbox``: the real bot, the Slack stand-in and a Slack-like page on one
port, so that anyone can try the procedure in a browser without a Slack workspace."""

from bot.devkit.sandbox.server import SandboxServer

__all__ = ["SandboxServer"]
