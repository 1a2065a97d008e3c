"""The Web API client and what its failures mean for a message we owe someone.

slack-sdk's default retry handler can post a message twice after a connection error, and its
rate-limit handler sleeps in the calling thread; both are switched off. The outbox decides when
to try again, and checks Slack's history first when it cannot know whether a post landed.
"""

from __future__ import annotations

import socket
import urllib.error
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.delivery.tiers import tier
from bot.ops import metrics

PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "user_not_found",
        "cannot_dm_bot",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "missing_scope",
    }
)


def make_client(token: str, base_url: str, *, timeout: int = 10) -> WebClient:
    return CountingWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[])


class CountingWebClient(WebClient):
    """Counts every Web API call by method and outcome for ``/metrics``: every typed method of
    the SDK goes through ``api_call``, so one override sees them all."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            metrics.count_slack_call(api_method, outcome(exc), tier(api_method))
            raise
        except Exception as exc:
            metrics.count_slack_call(api_method, type(exc).__name__, tier(api_method))
            raise
        metrics.count_slack_call(api_method, "ok", tier(api_method))
        return response


def outcome(exc: SlackApiError) -> str:
    """A bounded label: Slack's error code, ``ratelimited``, or ``http_<status>`` for a 5xx."""
    status = exc.response.status_code
    if status == 429:
        return "ratelimited"
    if status >= 500:
        return f"http_{status}"
    return str(exc.response.get("error") or f"http_{status}")


@dataclass(frozen=True)
class Failure:
    """``kind``: "rate_limited" (not posted; wait), "uncertain" (may have been posted: check
    history before trying again) or "permanent" (a person must act)."""

    kind: str
    error: str
    retry_after: float = 0.0


def classify(exc: BaseException) -> Failure:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = str(exc.response.get("error") or f"http_{status}")
        if status == 429:
            retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get(
                "retry-after", "1"
            )
            return Failure("rate_limited", "ratelimited", float(retry_after))
        if status >= 500:
            return Failure("uncertain", f"http_{status}")
        if error in PERMANENT_ERRORS:
            return Failure("permanent", error)
        return Failure("uncertain", error)
    if isinstance(exc, (urllib.error.URLError, TimeoutError, socket.timeout, ConnectionError)):
        return Failure("uncertain", type(exc).__name__)
    # Anything else (a bug of ours, an odd reply) may or may not have posted: retry after a
    # history look-up, rather than let one row stop the rest of its lane.
    return Failure("uncertain", type(exc).__name__)
