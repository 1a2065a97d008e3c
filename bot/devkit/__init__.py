"""Trying the bot without Slack: the Slack stand-in, the sandbox and the demo."""
