"""Errors a user or an operator can cause, each carrying what to tell them.

A listener raises a ``UserError``; the listener pipeline (``handlers.pipeline.Edge``, which
every listener runs in) turns it into an ephemeral answer or an inline modal error. The CLI
turns a ``ConfigError`` into one line on stderr and exit code 2. Nothing a person caused should
ever surface as a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping


class UserError(Exception):
    """A refusal to show the user: a message-catalogue key and its parameters."""

    def __init__(
        self,
        key: str,
        params: Mapping[str, object] | None = None,
        *,
        field: str = "",
        lang: str | None = None,
    ):
        super().__init__(key)
        self.key = key
        self.params: dict[str, object] = dict(params or {})
        self.field = field  # the modal block this error belongs to, if any
        # The language of whom it is shown to, where not the workspace's: a partner reads theirs.
        self.lang = lang


class ConfigError(Exception):
    """A setting or workspace file that cannot be used; the message is the one line to print."""
