"""The Web API client and what its failures mean for a message we owe someone.

slack-sdk's default retry handler can post a message twice after a connection error, and its
rate-limit handler sleeps in the calling thread; both are switched off. The outbox decides when
to try again, and checks Slack's history first when it cannot know whether a post landed.

Slack's limits are per method and workspace (``chat.postMessage``: per channel), and one client
serves one workspace. So the client remembers each 429's ``Retry-After`` for its method (and
channel) and, until it has passed, refuses further calls of that method itself with
:class:`RateLimited` instead of sending them into the wall; other methods go on. Callers treat
both alike: the outbox defers the row, the App Home refresher and the timers wait and try again.
Modals are exempt: a person waits for them and a ``trigger_id`` lives three seconds.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.clock import Clock
from bot.delivery.tiers import tier
from bot.errors import ConfigError
from bot.ops import metrics
from bot.ops.identity import Installation

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
        "token_expired",
        "app_uninstalled",
        "tokens_revoked",
        "not_installed",
    }
)


UNGATED = frozenset({"views.open", "views.push", "views.update", "auth.test"})
# The methods we call that Slack requires ``team_id`` on when the token is an org-wide
# install's ("encoded team id …, required if org token is used"): the token reaches many
# workspaces, and these act in one. A workspace token ignores the argument.
TEAM_SCOPED = frozenset(
    {"conversations.list", "users.list", "usergroups.list", "usergroups.users.list"}
)


TokenSource = Callable[[str, dict[str, Any]], str]
"""Asked for the bot token before each call, with the method and its arguments (OAuth installs:
``bot.ops.installs``, which picks the installation that reaches the call's channel or user);
raises ``TokenUnavailable`` when there is none to use."""


class TokenUnavailable(Exception):
    """No token to call Slack with: the app was uninstalled (``app_uninstalled``), its tokens
    revoked (``tokens_revoked``), it was never installed (``not_installed``), or a rotating
    token is being refreshed (``retry_after`` set: try again soon). Nothing was sent."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def make_client(
    token: str | TokenSource,
    base_url: str,
    *,
    timeout: int = 10,
    clock: Clock | None = None,
) -> WebClient:
    """The bot's client; ``clock`` (the outbox's) times the rate gate, so that a row the
    outbox defers by ``Retry-After`` finds the gate open when it is due again. ``token`` is the
    static ``SLACK_BOT_TOKEN``, or a token source asked at every call (OAuth installs)."""
    static = token if isinstance(token, str) else None
    client = CountingWebClient(token=static, base_url=base_url, timeout=timeout, retry_handlers=[])
    if not isinstance(token, str):
        client.tokens = token
    if clock is not None:
        client.gate = RateGate(now=lambda: clock().timestamp())
    return client


class RateLimited(Exception):
    """Slack asked us to wait before calling ``method`` again, and the wait is not over: the
    call was not made."""

    def __init__(self, method: str, retry_after: float) -> None:
        super().__init__(f"{method} is rate limited for another {retry_after:.1f} s")
        self.method = method
        self.retry_after = retry_after


class RateGate:
    """Until when each method (``chat.postMessage``: each channel) must not be called."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(method: str, args: dict[str, Any]) -> str:
        channel = args.get("channel")
        return f"{method} {channel}" if method == "chat.postMessage" and channel else method

    def remaining(self, key: str) -> float:
        with self._lock:
            left = self._until.get(key, 0.0) - self._now()
            if left <= 0:
                self._until.pop(key, None)
            return max(left, 0.0)

    def hold(self, key: str, seconds: float) -> None:
        with self._lock:
            self._until[key] = max(self._until.get(key, 0.0), self._now() + seconds)


class CountingWebClient(WebClient):
    """Counts every Web API call by method and outcome for ``/metrics``, and keeps Slack's
    ``Retry-After`` per method (the gate): every typed method of the SDK goes through
    ``api_call``, so one override sees them all."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = RateGate()
        # With an org-wide token: the workspace named on TEAM_SCOPED calls (runtime sets it).
        self.workspace_id: str | None = None
        self.tokens: TokenSource | None = None

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        if self.workspace_id and api_method in TEAM_SCOPED:
            kwargs = with_team(kwargs, self.workspace_id)
        args = kwargs.get("json") or kwargs.get("data") or kwargs.get("params") or {}
        if self.tokens is not None and _needs_bot_token(api_method, kwargs, args):
            # Asked at every call, not once: a refresh or an uninstall in another process
            # takes effect at the next call, also for the outbox and the timers.
            kwargs["headers"] = {
                **(kwargs.get("headers") or {}),
                "Authorization": f"Bearer {self.tokens(api_method, _args(args))}",
            }
        key = RateGate.key(api_method, args if isinstance(args, dict) else {})
        if api_method not in UNGATED:
            left = self.gate.remaining(key)
            if left > 0:
                raise RateLimited(api_method, left)
        try:
            response = super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            metrics.count_slack_call(api_method, outcome(exc), tier(api_method))
            if exc.response.status_code == 429:
                self.gate.hold(key, classify(exc).retry_after)
            raise
        except Exception as exc:
            metrics.count_slack_call(api_method, type(exc).__name__, tier(api_method))
            raise
        metrics.count_slack_call(api_method, "ok", tier(api_method))
        return response


def acting_workspace(client: WebClient, installation: Installation, channel: str) -> Installation:
    """An org-wide token acts in many workspaces, and Slack wants ``team_id`` on some calls
    (``TEAM_SCOPED``): the triage channel's workspace is named there — its user groups are
    the ones the escalation notifies. It is set on the client, the one place that adds it;
    a workspace install needs nothing. A ``ConfigError`` says why it cannot be found."""
    if not installation.is_enterprise_install:
        return installation
    try:
        info = client.conversations_info(channel=channel)["channel"]
    except SlackApiError as exc:
        raise ConfigError(
            f"triage_channel {channel}: an org-wide install cannot tell its workspace "
            f"({exc.response.get('error')}); add the app to that workspace and invite it"
        ) from None
    team = info.get("context_team_id") or info.get("conversation_host_id")
    if not team:
        raise ConfigError(f"triage_channel {channel}: Slack names no workspace for it")
    installation = replace(installation, workspace_id=str(team))
    if isinstance(client, CountingWebClient):
        client.workspace_id = installation.workspace_id
    return installation


def with_team(kwargs: dict[str, Any], team_id: str) -> dict[str, Any]:
    """The call's arguments with ``team_id`` added where the SDK put the others (query,
    form or JSON), unless the caller named a workspace itself."""
    out = dict(kwargs)
    for key in ("params", "data", "json"):
        if isinstance(out.get(key), dict):
            named = out[key].get("team_id")  # the SDK passes team_id=None when not given
            out[key] = {**out[key], "team_id": named or team_id}
            return out
    out["params"] = {"team_id": team_id}
    return out


def _args(args: Any) -> dict[str, Any]:
    return args if isinstance(args, dict) else {}


def _needs_bot_token(method: str, kwargs: dict[str, Any], args: Any) -> bool:
    """Not for OAuth's own methods (client credentials) nor a call given its own token."""
    if method.startswith("oauth.") or kwargs.get("auth"):
        return False
    return not (isinstance(args, dict) and args.get("token"))


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
    if isinstance(exc, TokenUnavailable):
        if exc.retry_after is not None:
            return Failure("rate_limited", exc.reason, exc.retry_after)  # nothing was sent
        return Failure("permanent", exc.reason)
    if isinstance(exc, RateLimited):
        return Failure("rate_limited", "ratelimited", max(exc.retry_after, 0.1))
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
