"""``SlackStandIn``: a real HTTP server on 127.0.0.1 answering like Slack's Web API.

The bot under test talks to it through an unmodified ``slack_sdk.WebClient(base_url=...)``,
so what is exercised is the bot's real HTTP path: auth headers, JSON/form bodies, error
answers, 429s and timeouts. State is inspectable afterwards (messages, views, calls).
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from .blockkit import validate_message_blocks, validate_view
from .faults import Fault, FaultTable, RateLimiter, call_channel
from .limits import SlackLimits
from .methods import (
    DEFAULT_SCOPES,
    METHODS,
    ApiError,
    Context,
    Settings,
    check_required,
    decode_args,
    modal_stack,
    open_modal,
    post_bot_message,
    truthy,
    update_view,
)
from .oauth import OAuthServer
from .state import (
    JSON,
    Call,
    Channel,
    Ephemeral,
    Message,
    ResponsePost,
    ResponseUrl,
    Trigger,
    User,
    Usergroup,
    View,
    Workspace,
)

GRID_ORG = "E0ORG00001"
GRID_SECOND_WORKSPACE = "T0TEAM0002"


class SlackStandIn:
    """A fake Slack workspace with its Web API, response URLs, uploads and Socket Mode."""

    def __init__(
        self,
        *,
        team_id: str = "T0TEAM0001",
        team_domain: str = "acceptance",
        bot_user_id: str = "U0BOT00001",
        bot_id: str = "B0BOT00001",
        app_id: str = "A0APP00001",
        bot_token: str = "xoxb-standin",
        app_token: str = "xapp-standin",
        scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
        host: str = "127.0.0.1",
        port: int = 0,
        trigger_ttl: float = 3.0,
        response_url_ttl: float = 30 * 60.0,
        response_url_max_uses: int = 5,
        enterprise_id: str | None = None,
        is_enterprise_install: bool = False,
        workspaces: dict[str, str] | None = None,
        client_id: str = "1111111111.2222222222",
        client_secret: str = "standin-client-secret",
        token_rotation: bool = False,
        token_ttl: float = 12 * 3600.0,
    ) -> None:
        """``enterprise_id``: an Enterprise Grid organisation (``grid`` builds the usual one),
        whose ``workspaces`` (id → domain) include ``team_id``; ``is_enterprise_install``:
        the app is installed once for the whole organisation."""
        self.settings = Settings(
            team_id=team_id,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            app_id=app_id,
            bot_token=bot_token,
            app_token=app_token,
            scopes=tuple(scopes),
            trigger_ttl=trigger_ttl,
            response_url_ttl=response_url_ttl,
            response_url_max_uses=response_url_max_uses,
            enterprise_id=enterprise_id,
            is_enterprise_install=is_enterprise_install and enterprise_id is not None,
            workspaces={team_id: team_domain, **(workspaces or {})} if enterprise_id else {},
        )
        self.ws = Workspace()
        self.oauth = OAuthServer(client_id, client_secret, token_rotation, token_ttl)
        self.faults = FaultTable()
        self.rate_limiter = RateLimiter()
        self.limits: SlackLimits | None = None  # Slack's tiers, when a test or bench asks
        self._host = host
        self._port = port
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: Any = None  # socketmode.SocketModeServer, started lazily
        self._ctx = Context(self.ws, self.settings, self._socket_url)
        self._response_counter = 0
        self._trigger_counter = 0
        self.ws.users[bot_user_id] = User(
            bot_user_id,
            self.settings.bot_name,
            team_id,
            "Nonconformity bot",
            is_bot=True,
            enterprise_id=enterprise_id,
        )

    @classmethod
    def grid(cls, *, org_wide: bool = False, **kwargs: Any) -> SlackStandIn:
        """An Enterprise Grid organisation ``E0ORG00001`` with two workspaces: ``T0TEAM0001``
        (acceptance; the one a workspace install is in) and ``T0TEAM0002`` (research).
        ``org_wide``: the app installed once for the organisation."""
        return cls(
            enterprise_id=GRID_ORG,
            is_enterprise_install=org_wide,
            workspaces={GRID_SECOND_WORKSPACE: "research"},
            **kwargs,
        )

    def add_workspace(self, team_id: str, domain: str) -> None:
        """Another workspace of the same provider, outside any Grid organisation: the app is
        installed in it through OAuth too (``oauth.next_team``), and its token sees only its
        own channels and users, and what is shared with it."""
        cfg = self.settings
        cfg.workspaces = {cfg.team_id: cfg.team_domain, **cfg.workspaces, team_id: domain}

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SlackStandIn:
        if self._httpd is not None:
            return self
        httpd = ThreadingHTTPServer((self._host, self._port), _make_handler(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        self.settings.base_url = f"http://{self._host}:{httpd.server_address[1]}"
        self._thread = threading.Thread(
            target=httpd.serve_forever, args=(0.05,), name="slack-standin", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._socket is not None:
            self._socket.stop()
            self._socket = None
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if not self.settings.base_url:
            raise RuntimeError("the stand-in is not started")
        return self.settings.base_url

    @property
    def api_url(self) -> str:
        """What the bot's WebClient ``base_url`` should be (with the trailing slash)."""
        return self.base_url + "/api/"

    @property
    def team_id(self) -> str:
        return self.settings.team_id

    @property
    def bot_user_id(self) -> str:
        return self.settings.bot_user_id

    # ------------------------------------------------------------ workspace setup

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        team_id: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
        tz: str = "Europe/Brussels",
        email: str | None = None,
        title: str = "",
        enterprise_id: str | None = None,
    ) -> User:
        """Register a user; a ``team_id`` other than our workspaces' is a Slack Connect user
        (of an Enterprise organisation with ``enterprise_id``). On Grid a user of one of our
        workspaces belongs to our organisation."""
        team = team_id or self.settings.team_id
        if enterprise_id is None and team in self.settings.workspaces:
            enterprise_id = self.settings.enterprise_id
        user = User(
            title=title,
            id=user_id,
            name=name or user_id.lower(),
            team_id=team,
            real_name=real_name or (name or user_id),
            is_bot=is_bot,
            tz=tz,
            email=email,
            enterprise_id=enterprise_id,
            enterprise_name="" if enterprise_id is None else self._org_name(enterprise_id),
        )
        with self.ws.lock:
            self.ws.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        members: list[str] | tuple[str, ...] = (),
        bot_is_member: bool = True,
        is_archived: bool = False,
        is_private: bool = False,
        is_ext_shared: bool = False,
        connected_teams: list[str] | None = None,
        team: str | None = None,
    ) -> Channel:
        """``connected_teams``: the other organisations sharing an ``is_ext_shared`` channel;
        by default those of its members from other workspaces. ``team``: the workspace it
        belongs to (on Grid, one of the organisation's; ours by default)."""
        if connected_teams is None:
            connected_teams = [] if not is_ext_shared else self._other_teams(members)
        channel = Channel(
            id=channel_id,
            name=name or channel_id.lower(),
            members=list(members),
            bot_is_member=bot_is_member,
            is_archived=is_archived,
            is_private=is_private,
            is_ext_shared=is_ext_shared,
            host_team=team or self.settings.team_id,
            connected_teams=list(connected_teams),
        )
        with self.ws.lock:
            self.ws.channels[channel_id] = channel
        return channel

    def _other_teams(self, members: list[str] | tuple[str, ...]) -> list[str]:
        with self.ws.lock:
            teams = (self.ws.users[m].home for m in members if m in self.ws.users)
            return list(dict.fromkeys(t for t in teams if not self.settings.ours(t)))

    def _org_name(self, enterprise_id: str) -> str:
        if enterprise_id == self.settings.enterprise_id:
            return self.settings.enterprise_name
        return f"Organisation {enterprise_id}"

    def add_usergroup(
        self,
        group_id: str,
        *,
        handle: str,
        users: list[str] | tuple[str, ...] = (),
        name: str | None = None,
    ) -> Usergroup:
        group = Usergroup(group_id, handle, name or handle, self.settings.team_id, list(users))
        with self.ws.lock:
            self.ws.usergroups[group_id] = group
        return group

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        blocks: list[Any] | None = None,
        thread_ts: str | None = None,
        attachments: list[Any] | None = None,
        bot_id: str | None = None,
    ) -> Message:
        """A message written by a person or another app (not this bot), e.g. to test
        cant_update_message or a monitoring alert's attachments."""
        with self.ws.lock:
            message = Message(
                channel=channel,
                ts=self.ws.next_ts(),
                text=text,
                blocks=blocks,
                attachments=attachments,
                bot_id=bot_id,
                user=user,
                team=self.settings.team_id,
                thread_ts=thread_ts,
            )
            self.ws.messages.setdefault(channel, []).append(message)
            return copy.deepcopy(message)

    def channel_info(self, channel: str) -> Channel:
        with self.ws.lock:
            return copy.deepcopy(self.ws.channels[channel])

    def dm_channel(self, user_id: str) -> str:
        """The bot's DM channel id with ``user_id`` (created like conversations.open)."""
        with self.ws.lock:
            return self.ws.dm_for(user_id, self.settings.bot_user_id).id

    def user_team(self, user_id: str) -> str:
        """The user's workspace (``T…``)."""
        with self.ws.lock:
            user = self.ws.users.get(user_id)
            return user.team_id if user else self.settings.team_id

    def user_home(self, user_id: str) -> str:
        """What Slack sends as the user's ``team_id`` in interactions: on Grid their
        organisation (``E…``), else their workspace."""
        with self.ws.lock:
            user = self.ws.users.get(user_id)
            return user.home if user else self.settings.team_id

    def user_enterprise(self, user_id: str) -> str | None:
        with self.ws.lock:
            user = self.ws.users.get(user_id)
            return user.enterprise_id if user else self.settings.enterprise_id

    def channel_team(self, channel_id: str) -> str:
        """The workspace a channel belongs to (a DM or unknown channel: ours)."""
        with self.ws.lock:
            channel = self.ws.channels.get(channel_id)
            return (
                channel.host_team
                if channel is not None and channel.host_team
                else (self.settings.team_id)
            )

    def user_name(self, user_id: str) -> str:
        with self.ws.lock:
            user = self.ws.users.get(user_id)
            return user.name if user else user_id.lower()

    # ------------------------------------------------------------ triggers and response URLs

    def issue_trigger(self, user: str | None = None) -> str:
        """A fresh trigger_id in Slack's format, usable once within ``trigger_ttl`` seconds."""
        with self.ws.lock:
            self._trigger_counter += 1
            trigger_id = f"{int(time.time())}.{self._trigger_counter:09d}.{secrets.token_hex(16)}"
            self.ws.triggers[trigger_id] = Trigger(trigger_id, time.monotonic(), user)
            return trigger_id

    def issue_response_url(
        self,
        *,
        channel: str | None = None,
        user: str | None = None,
        message_ts: str | None = None,
        thread_ts: str | None = None,
    ) -> str:
        """A response_url on the stand-in: 5 uses within 30 minutes (configurable)."""
        with self.ws.lock:
            self._response_counter += 1
            digits = "".join(secrets.choice("0123456789") for _ in range(24))
            team, n = self.settings.team_id, self._response_counter
            url = f"{self.base_url}/response/{team}/{n}/{digits}"
            self.ws.response_urls[url] = ResponseUrl(
                url, time.monotonic(), channel, user, message_ts, thread_ts
            )
            return url

    def response_posts(self, url: str | None = None) -> list[ResponsePost]:
        with self.ws.lock:
            posts = [p for p in self.ws.response_posts if url is None or p.url == url]
            return copy.deepcopy(posts)

    # ------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[Call]:
        with self.ws.lock:
            return copy.deepcopy([c for c in self.ws.calls if method is None or c.method == method])

    def reset_calls(self) -> None:
        with self.ws.lock:
            self.ws.calls.clear()
            self.ws.response_posts.clear()

    def channels(self) -> list[Channel]:
        """Every channel and DM, in the order they were created (a snapshot)."""
        with self.ws.lock:
            return copy.deepcopy(list(self.ws.channels.values()))

    def rename_user(self, user_id: str, *, real_name: str, title: str | None = None) -> None:
        """What a person (or an admin) does in their profile: ``users.info`` shows it at once."""
        with self.ws.lock:
            user = self.ws.users[user_id]
            user.real_name = real_name
            if title is not None:
                user.title = title

    def users(self) -> list[User]:
        """Every user, the bot included, in the order they were added (a snapshot)."""
        with self.ws.lock:
            return copy.deepcopy(list(self.ws.users.values()))

    def usergroups(self) -> list[Usergroup]:
        with self.ws.lock:
            return copy.deepcopy(list(self.ws.usergroups.values()))

    def messages(self, channel: str) -> list[Message]:
        """Every message in ``channel`` (top-level and replies), oldest first, as now stored."""
        with self.ws.lock:
            if channel[:1] in ("U", "W"):
                channel = self.ws.dm_for(channel, self.settings.bot_user_id).id
            return copy.deepcopy(self.ws.messages.get(channel, []))

    def message(self, channel: str, ts: str) -> Message:
        for message in self.messages(channel):
            if message.ts == ts:
                return message
        raise LookupError(f"no message {ts} in {channel}")

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The thread's parent then its replies."""
        return [m for m in self.messages(channel) if m.ts == thread_ts or m.thread_ts == thread_ts]

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[Ephemeral]:
        with self.ws.lock:
            return copy.deepcopy(
                [
                    e
                    for e in self.ws.ephemerals
                    if (channel is None or e.channel == channel)
                    and (user is None or e.user == user)
                ]
            )

    @property
    def views(self) -> dict[str, View]:
        """Modals by view id (a snapshot)."""
        with self.ws.lock:
            return copy.deepcopy(self.ws.views)

    def view(self, view_id: str) -> View:
        with self.ws.lock:
            if view_id in self.ws.views:
                return copy.deepcopy(self.ws.views[view_id])
            for home in self.ws.homes.values():
                if home.id == view_id:
                    return copy.deepcopy(home)
        raise LookupError(f"no view {view_id}")

    def open_views(self, user: str) -> list[View]:
        """The user's open modal stack, root first."""
        with self.ws.lock:
            views = [v for v in self.ws.views.values() if v.is_open and v.user == user]
            return copy.deepcopy(sorted(views, key=lambda v: v.seq))

    def published_home(self, user_id: str) -> JSON | None:
        with self.ws.lock:
            home = self.ws.homes.get(user_id)
            return copy.deepcopy(home.view) if home else None

    def file_content(self, file_id: str) -> bytes:
        with self.ws.lock:
            content = self.ws.files[file_id].content
        if content is None:
            raise LookupError(f"file {file_id} was never uploaded")
        return content

    # ------------------------------------------------------------ faults

    def inject(
        self,
        method: str,
        *,
        channel: str | None = None,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        times: int = 1,
        after_success: bool = False,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (on ``channel``) fail or stall.

        Without ``after_success`` the fault comes first: a delay then the call is processed
        (unless the fault also fails it). With ``after_success`` the call is processed, then
        the answer is delayed and/or replaced: Slack did the work but the reply was lost.
        """
        fault = Fault(method, channel, status, error, retry_after, delay, times, after_success)
        self.faults.add(fault)
        return fault

    def set_rate_limit(self, per_channel_per_second: float | None) -> None:
        self.rate_limiter.set(per_channel_per_second)

    def set_limits(self, scale: float | None = 1.0) -> SlackLimits | None:
        """Enforce Slack's rate limits (every method's tier per workspace, posting per
        channel), ``scale`` times faster than Slack; None turns them off."""
        self.limits = SlackLimits(scale) if scale is not None else None
        return self.limits

    # ------------------------------------------------------------ socket mode

    def _socket_server(self) -> Any:
        if self._socket is None:
            from .socketmode import SocketModeServer

            self._socket = SocketModeServer(self._host, self.settings.app_id).start()
        return self._socket

    def _socket_url(self) -> str:
        return str(self._socket_server().issue_url())

    def socket_send(self, envelope_type: str, payload: JSON, *, retry_attempt: int = 0) -> str:
        """Send an envelope to the connected Socket Mode client; returns its envelope_id."""
        return str(self._socket_server().send(envelope_type, payload, retry_attempt))

    def socket_acks(self) -> list[JSON]:
        return list(self._socket_server().acks())

    def wait_socket_ack(self, envelope_id: str, timeout: float = 30.0) -> JSON:
        ack: JSON = self._socket_server().wait_ack(envelope_id, timeout)
        return ack

    def wait_socket_connected(self, timeout: float = 30.0) -> None:
        self._socket_server().wait_connected(timeout)

    # ------------------------------------------------------------ request handling

    def handle_api(
        self, method: str, args: JSON, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], JSON]:
        """Answer one Web API call and record it."""
        status, extra_headers, body, args = self._answer(method, args, headers)
        token = self._token(args, headers)
        scopes = (
            "connections:write"
            if token == self.settings.app_token
            else ",".join(self.settings.scopes)
        )
        out_headers = {"x-oauth-scopes": scopes, **extra_headers}
        spec = METHODS.get(method)
        if spec is not None and spec.scope:
            out_headers["x-accepted-oauth-scopes"] = spec.scope
        with self.ws.lock:
            self.ws.calls.append(
                Call(method, args, copy.deepcopy(body), status, time.time(), dict(headers))
            )
        return status, out_headers, body

    @staticmethod
    def _token(args: JSON, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        token = args.get("token")
        return str(token) if token else None

    def _answer(
        self, method: str, args: JSON, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], JSON, JSON]:
        try:
            args = decode_args(args)
        except ApiError as exc:
            return 200, {}, exc.body(), args
        if method == "oauth.v2.access":
            return 200, {}, self._oauth_access(args, headers), args
        spec = METHODS.get(method)
        if spec is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}, args
        token = self._token(args, headers)
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}, args
        kinds = {self.settings.bot_token: "bot", self.settings.app_token: "app"}
        problem = self.oauth.check(token)
        if problem is None:
            kinds[token] = "bot"  # a token an OAuth install was given
        elif problem != "unknown":
            return 200, {}, {"ok": False, "error": problem}, args
        elif token == self.settings.bot_token and self.oauth.static_revoked:
            return 200, {}, {"ok": False, "error": "token_revoked"}, args
        if token not in kinds:
            return 200, {}, {"ok": False, "error": "invalid_auth"}, args
        if kinds[token] != spec.token:
            return 200, {}, {"ok": False, "error": "not_allowed_token_type"}, args
        scoped = self.oauth.team_of(token) if problem is None else None
        hidden = self._hidden(scoped, args) if scoped is not None else None
        if hidden is not None:
            return 200, {}, {"ok": False, "error": hidden}, args
        fault = self.faults.take(method, args)
        if fault is not None and not fault.after_success:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.fails:
                status, extra, body = fault.response()
                return status, extra, body, args
        if method == "auth.revoke":  # needs the calling token, which methods do not see
            body = self._revoke(token, args)
        else:
            body = self._process(spec.name, args)
        if not body.get("ok") and body.get("error") == "ratelimited":
            retry_after = str(body.pop("retry_after"))
            return 429, {"Retry-After": retry_after}, body, args
        if fault is not None and fault.after_success:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.fails:
                status, extra, failed = fault.response()
                return status, extra, failed, args
        return 200, {}, body, args

    def _hidden(self, team: str, args: JSON) -> str | None:
        """Slack's error when a token of workspace ``team`` names what it cannot see: a channel
        of another workspace not shared with it, a user of another of our workspaces, the
        trigger of a request from another workspace."""
        with self.ws.lock:
            for name in ("channel", "channel_id"):
                target = args.get(name)
                if isinstance(target, str) and target and not self._sees(team, target):
                    return "channel_not_found"
            trigger = self.ws.triggers.get(str(args.get("trigger_id") or ""))
            if trigger is not None and trigger.user and not self._sees_user(team, trigger.user):
                return "invalid_trigger_id"  # a trigger of another workspace's request
            for name in ("user_id", "user", "users"):
                targets = args.get(name)
                for target in str(targets).split(",") if isinstance(targets, str) else ():
                    if target.strip() and not self._sees_user(team, target.strip()):
                        return "user_not_found"
        return None

    def _sees(self, team: str, target: str) -> bool:
        if target[:1] in ("U", "W"):  # a DM named by the user
            return self._sees_user(team, target)
        channel = self.ws.channels.get(target)
        if channel is None:
            return True  # the method itself answers channel_not_found
        if channel.is_im:
            return channel.im_user is None or self._sees_user(team, channel.im_user)
        host = channel.host_team or self.settings.team_id
        return host == team or (channel.is_ext_shared and team in channel.connected_teams)

    def _sees_user(self, team: str, user_id: str) -> bool:
        """Its own workspace's users, and users of other organisations (Slack Connect)."""
        user = self.ws.users.get(user_id)
        if user is None or user.is_bot:
            return True
        return user.team_id == team or not self.settings.ours(user.team_id)

    def _revoke(self, token: str, args: JSON) -> JSON:
        """``auth.revoke``: the calling token stops working (``test``: only says it would)."""
        if truthy(args.get("test")):
            return {"ok": True, "revoked": False}
        if not self.oauth.revoke(token):
            self.oauth.static_revoked = True  # the static bot token
        return {"ok": True, "revoked": True}

    def _oauth_access(self, args: JSON, headers: dict[str, str]) -> JSON:
        cfg = self.settings
        org = {"id": cfg.enterprise_id, "name": cfg.enterprise_name} if cfg.enterprise_id else None
        # An org-wide install is the organisation's: Slack answers no workspace (team null).
        team = None if cfg.is_enterprise_install else {"id": cfg.team_id, "name": cfg.team_name}
        bot = {
            "scope": ",".join(self.settings.scopes),
            "user_id": self.settings.bot_user_id,
            "app_id": self.settings.app_id,
            "installer": next(
                (u.id for u in self.ws.users.values() if not u.is_bot), "U0INSTALLER"
            ),
        }
        return self.oauth.access(args, headers, team, bot, org, cfg.is_enterprise_install)

    def _process(self, method: str, args: JSON) -> JSON:
        spec = METHODS[method]
        with self.ws.lock:
            try:
                if spec.token == "bot" and spec.scope and spec.scope not in self.settings.scopes:
                    raise ApiError(
                        "missing_scope", needed=spec.scope, provided=",".join(self.settings.scopes)
                    )
                check_required(spec, args)
                if method == "chat.postMessage" or self.limits is not None:
                    self._rate_check(method, args)
                return {"ok": True, **spec.handler(self._ctx, args)}
            except ApiError as exc:
                return exc.body()

    def _rate_check(self, method: str, args: JSON) -> None:
        channel = call_channel(args)
        if channel is not None and channel[:1] in ("U", "W") and channel in self.ws.users:
            channel = self.ws.dm_for(channel, self.settings.bot_user_id).id
        if self.limits is not None:
            known = channel if channel in self.ws.channels else None
            waited = self.limits.check(method, known)
            if waited is not None:
                raise ApiError("ratelimited", retry_after=waited)
        if method != "chat.postMessage" or channel is None:
            return
        if channel not in self.ws.channels:
            return  # the handler answers channel_not_found
        retry_after = self.rate_limiter.acquire(channel)
        if retry_after is not None:
            raise ApiError("ratelimited", retry_after=retry_after)

    def handle_response_url(self, url: str, body: JSON) -> tuple[int, JSON]:
        """A POST to a response_url: recorded, applied to the channel, limited like Slack."""
        with self.ws.lock:
            hook = self.ws.response_urls.get(url)
            status, error = 200, None
            if hook is None:
                status, error = 404, "invalid_url"
            elif time.monotonic() - hook.issued_at > self.settings.response_url_ttl:
                status, error = 404, "expired_url"
            elif hook.uses >= self.settings.response_url_max_uses:
                status, error = 404, "used_url"
            elif "blocks" in body and (errors := validate_message_blocks(body["blocks"])):
                self.ws.response_posts.append(
                    ResponsePost(url, body, time.time(), 400, "invalid_blocks")
                )
                return 400, {"ok": False, "error": "invalid_blocks", "errors": errors}
            if hook is not None and error is None:
                hook.uses += 1
                self._apply_response(hook, body)
            self.ws.response_posts.append(ResponsePost(url, body, time.time(), status, error))
        if error is not None:
            return status, {"ok": False, "error": error}
        return 200, {"ok": True}

    def _apply_response(self, hook: ResponseUrl, body: JSON) -> None:
        channel = self.ws.channels.get(hook.channel or "")
        original = (
            self.ws.find_message(channel.id, hook.message_ts)
            if channel is not None and hook.message_ts
            else None
        )
        if truthy_body(body.get("delete_original")):
            if original is not None and channel is not None:
                self.ws.messages[channel.id].remove(original)
            return
        text = str(body.get("text") or "")
        blocks = body.get("blocks")
        if truthy_body(body.get("replace_original")) and original is not None:
            original.history.append(
                {"text": original.text, "blocks": original.blocks, "edited_ts": self.ws.next_ts()}
            )
            original.text = text
            original.blocks = blocks
            original.updated = True
            original.update_count += 1
            return
        if body.get("response_type") == "in_channel" and channel is not None:
            thread_ts = body.get("thread_ts") or hook.thread_ts
            post_bot_message(self._ctx, channel, text, blocks, thread_ts=thread_ts)
            return
        if channel is not None and hook.user:
            self.ws.ephemerals.append(
                Ephemeral(
                    channel.id,
                    hook.user,
                    self.ws.next_ts(),
                    text,
                    blocks,
                    hook.thread_ts,
                    source="response_url",
                )
            )

    def apply_view_response(
        self, view_id: str, user: str, status: int, body: bytes
    ) -> tuple[str | None, list[str]]:
        """Apply a bot's answer to a view_submission as Slack would; returns (action, errors).

        ``errors`` lists why Slack would refuse the answer (an invalid view); the modal
        then stays as it was.
        """
        if status != 200:
            return None, [f"HTTP {status}"]
        try:
            answer = json.loads(body.decode("utf-8")) if body.strip() else {}
        except ValueError:
            return None, ["the answer is not JSON"]
        action = answer.get("response_action") if isinstance(answer, dict) else None
        with self.ws.lock:
            stored = self.ws.views.get(view_id)
            if stored is None:
                return action, [f"no view {view_id}"]
            if action is None:
                stored.is_open = False
                return None, []
            if action == "clear":
                self.close_views(user)
                return action, []
            if action == "errors":
                errors = answer.get("errors")
                return action, [] if isinstance(errors, dict) and errors else ["errors is empty"]
            if action in ("update", "push"):
                view = answer.get("view")
                problems = validate_view(view)
                if problems:
                    return action, problems
                assert isinstance(view, dict)
                if action == "update":
                    update_view(self._ctx, stored, view, "response_action")
                else:
                    if len(modal_stack(self._ctx, user)) >= 3:
                        return action, ["push_limit_reached"]
                    open_modal(self._ctx, user, view, "response_action", stored)
                return action, []
        return action, [f"unknown response_action {action!r}"]

    def close_views(self, user: str, view_id: str | None = None) -> None:
        """Close one modal (``view_id``) or the user's whole stack."""
        with self.ws.lock:
            for view in self.ws.views.values():
                if view.user == user and (view_id is None or view.id == view_id):
                    view.is_open = False

    def handle_upload(self, file_id: str, data: bytes) -> tuple[int, bytes]:
        with self.ws.lock:
            f = self.ws.files.get(file_id)
            if f is None:
                return 404, b"file_not_found"
            f.content = data
        return 200, f"OK - {len(data)}".encode()


def truthy_body(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _parse_body(content_type: str, raw: bytes) -> JSON:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        parsed = json.loads(raw.decode("utf-8"))
        return parsed if isinstance(parsed, dict) else {}
    if content_type.startswith("application/x-www-form-urlencoded") or not content_type:
        pairs = urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
        return dict(pairs)
    return {}


def _make_handler(standin: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "SlackStandIn/1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read ``calls()`` instead of an access log."""

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str = "application/json; charset=utf-8",
            headers: dict[str, str] | None = None,
        ) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests); Slack would not notice either

        def _read(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self) -> None:
            self._dispatch(b"")

        def do_POST(self) -> None:
            self._dispatch(self._read())

        def _dispatch(self, raw: bytes) -> None:
            parts = urllib.parse.urlsplit(self.path)
            path = parts.path
            headers = {k.lower(): v for k, v in self.headers.items()}
            if path.startswith("/api/"):
                args: JSON = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
                try:
                    args.update(_parse_body(headers.get("content-type", ""), raw))
                except (ValueError, UnicodeDecodeError):
                    self._send(200, json.dumps({"ok": False, "error": "invalid_json"}).encode())
                    return
                status, out_headers, body = standin.handle_api(path[5:], args, headers)
                self._send(status, json.dumps(body).encode(), headers=out_headers)
            elif path.startswith("/response/"):
                try:
                    payload = json.loads(raw.decode("utf-8") or "{}")
                except ValueError:
                    self._send(400, b'{"ok": false, "error": "invalid_payload"}')
                    return
                url = standin.base_url + path
                status, body = standin.handle_response_url(url, payload)
                self._send(status, json.dumps(body).encode())
            elif path == "/oauth/v2/authorize":
                query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
                status, where = standin.oauth.authorize(query)
                if status == 302:
                    self._send(302, b"", "text/plain", headers={"Location": where})
                else:
                    self._send(status, where.encode(), "text/plain")
            elif path.startswith("/upload/v1/"):
                status, text = standin.handle_upload(path.rsplit("/", 1)[-1], raw)
                self._send(status, text, "text/plain; charset=utf-8")
            elif path.startswith("/files/"):
                file_id = path.split("/")[2]
                try:
                    content = standin.file_content(file_id)
                except (KeyError, LookupError):
                    self._send(404, b"not found", "text/plain")
                    return
                self._send(200, content, "application/octet-stream")
            else:
                self._send(404, b"not found", "text/plain")

    return Handler
