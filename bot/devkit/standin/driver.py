"""``SlackDriver``: plays Slack's side toward a bot's request URL.

It builds slash commands, view submissions, block actions and events in the exact shapes of
``/work/shared/slack/payloads``, from what the stand-in actually holds (the stored view, the
stored message), signs them with Slack's v0 scheme and posts them with plain urllib.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from .server import SlackStandIn
from .state import JSON

VERIFICATION_TOKEN = "verification-token-not-for-use"


def sign(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's v0 signature: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class DriverResponse:
    """The bot's HTTP answer to one request the driver sent."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    request_body: bytes = b""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body.strip() else None


@dataclass
class SubmissionRecord:
    view_id: str
    user: str
    payload: JSON
    response: DriverResponse
    response_action: str | None
    errors: list[str] = field(default_factory=list)


class SlackDriver:
    """Send Slack-shaped, signed requests to a bot, drawing on a :class:`SlackStandIn`."""

    def __init__(
        self,
        standin: SlackStandIn,
        events_url: str,
        signing_secret: str,
        *,
        commands_url: str | None = None,
        interactivity_url: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.standin = standin
        self.events_url = events_url
        self.commands_url = commands_url or events_url
        self.interactivity_url = interactivity_url or events_url
        self.signing_secret = signing_secret
        self.timeout = timeout
        self.submissions: list[SubmissionRecord] = []
        self._event_counter = 0

    # ------------------------------------------------------------ transport

    def raw(
        self,
        body: bytes,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        *,
        url: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> DriverResponse:
        """POST ``body`` as is; a missing signature is computed (valid for ``timestamp``)."""
        ts = int(time.time()) if timestamp is None else timestamp
        sig = sign(self.signing_secret, ts, body) if signature is None else signature
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sig,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        request = urllib.request.Request(
            url or self.events_url, data=body, headers=all_headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                return DriverResponse(resp.status, resp.read(), dict(resp.headers.items()), body)
        except urllib.error.HTTPError as err:
            return DriverResponse(err.code, err.read(), dict(err.headers.items()), body)

    def _post_form(self, url: str, fields: dict[str, str]) -> DriverResponse:
        body = urllib.parse.urlencode(fields).encode()
        return self.raw(body, "application/x-www-form-urlencoded", url=url)

    def _post_payload(self, payload: JSON) -> DriverResponse:
        return self._post_form(self.interactivity_url, {"payload": json.dumps(payload)})

    # ------------------------------------------------------------ shared shapes

    def _team(self, team_id: str | None = None) -> JSON | None:
        """The workspace a request came through (default: ours). On Grid it names the
        organisation too; an org-wide install's requests from no channel carry none."""
        cfg = self.standin.settings
        team = team_id or cfg.team_id
        out: JSON = {"id": team, "domain": cfg.workspaces.get(team, cfg.team_domain)}
        if cfg.enterprise_id:
            out["enterprise_id"] = cfg.enterprise_id
            out["enterprise_name"] = cfg.enterprise_name
        return out

    def _grid(self, team: JSON | None) -> JSON:
        """``team``, ``enterprise`` and ``is_enterprise_install`` as an interaction has them."""
        cfg = self.standin.settings
        org = {"id": cfg.enterprise_id, "name": cfg.enterprise_name} if cfg.enterprise_id else None
        return {"team": team, "enterprise": org, "is_enterprise_install": cfg.is_enterprise_install}

    def _nowhere(self, user: str) -> JSON | None:
        """``team`` of a request from no channel (a modal): null for an org-wide install; with
        several separate workspaces, the user's."""
        if self.standin.settings.is_enterprise_install:
            return None
        return self._team(self.standin.user_team(user) if self._several() else None)

    def _several(self) -> bool:
        """Several separate workspaces (not Grid), each with its own installation."""
        cfg = self.standin.settings
        return cfg.enterprise_id is None and len(cfg.workspaces) > 1

    def _user(self, user: str, team_id: str | None = None) -> JSON:
        """``user`` as Slack sends it; ``team_id`` is the organisation's id (``E…``) for a
        user of an Enterprise organisation, as Slack documents."""
        name = self.standin.user_name(user)
        return {
            "id": user,
            "username": name,
            "name": name,
            "team_id": team_id or self.standin.user_home(user),
        }

    def _channel_name(self, channel: str) -> str:
        with self.standin.ws.lock:
            known = self.standin.ws.channels.get(channel)
            if known is not None and known.is_im:
                return "directmessage"
            return known.name if known is not None else channel.lower()

    # ------------------------------------------------------------ slash commands

    def command(
        self,
        command: str,
        text: str = "",
        *,
        user: str,
        channel: str,
        team_id: str | None = None,
    ) -> DriverResponse:
        """A slash command, form-encoded field for field like ``slash_command.form.txt``."""
        cfg = self.standin.settings
        # the user's own workspace and, on Grid, organisation (ours, or a Slack Connect
        # partner's); a plain workspace's users are sent as ours, as they always were
        home = self.standin.user_team(user) if cfg.workspaces else cfg.team_id
        enterprise = self.standin.user_enterprise(user) if cfg.enterprise_id else None
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id or home,
            **({"enterprise_id": enterprise} if enterprise and not team_id else {}),
            "team_domain": cfg.workspaces.get(home, cfg.team_domain),
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user,
            "user_name": self.standin.user_name(user),
            "command": command,
            "text": text,
            "api_app_id": self.standin.settings.app_id,
            "is_enterprise_install": "true" if cfg.is_enterprise_install else "false",
            "response_url": self.standin.issue_response_url(channel=channel, user=user),
            "trigger_id": self.standin.issue_trigger(user=user),
        }
        return self._post_form(self.commands_url, fields)

    # ------------------------------------------------------------ shortcuts

    def message_shortcut(
        self, channel: str, message_ts: str, callback_id: str, *, user: str
    ) -> DriverResponse:
        """A message shortcut used on a stored message, as Slack sends ``message_action``:
        whether or not the bot is in the channel (the payload carries the whole message)."""
        message = self.standin.message(channel, message_ts)
        payload: JSON = {
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "action_ts": f"{time.time():.6f}",
            **self._grid(self._team(self.standin.channel_team(channel))),
            "user": self._user(user),
            "channel": {"id": channel, "name": self._channel_name(channel)},
            "callback_id": callback_id,
            "trigger_id": self.standin.issue_trigger(user=user),
            "response_url": self.standin.issue_response_url(channel=channel, user=user),
            "message_ts": message.ts,
            "message": message.to_api(include_metadata=False),
        }
        return self._post_payload(payload)

    # ------------------------------------------------------------ views

    def last_view(self, user: str) -> JSON:
        """The modal most recently opened, pushed or updated for ``user`` on the stand-in."""
        with self.standin.ws.lock:
            views = [v for v in self.standin.ws.views.values() if v.user == user]
            if not views:
                raise LookupError(f"no view was opened for {user}")
            return copy.deepcopy(max(views, key=lambda v: v.seq).view)

    def view_state(self, view: JSON, values: dict[str, Any]) -> JSON:
        """``state.values`` as Slack builds it for ``view`` from user input ``values``.

        Keys of ``values`` are input block_ids; unknown block_ids raise ``KeyError`` so a
        typo cannot make a test pass. Blocks without a value are sent empty, as Slack does.
        """
        state: JSON = {}
        seen: set[str] = set()
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            block_id = block.get("block_id")
            element = block.get("element") or {}
            action_id = element.get("action_id")
            if not block_id or not action_id:
                continue
            seen.add(block_id)
            state[block_id] = {action_id: element_value(element, values.get(block_id))}
        unknown = set(values) - seen
        if unknown:
            raise KeyError(f"no input block {sorted(unknown)} in view {view.get('id')}")
        return state

    def submit(
        self,
        view_id: str,
        *,
        user: str,
        values: dict[str, Any] | None = None,
        extra_state: JSON | None = None,
        team_id: str | None = None,
        private_metadata: str | None = None,
    ) -> DriverResponse:
        """A view_submission for the stored view, like ``view_submission.json``.

        ``extra_state`` replaces blocks of ``state.values`` and ``private_metadata`` the view's
        own, as a tampering or garbling client would send them.

        The bot's answer is applied to the stand-in: ``update``/``push`` change the modal
        stack, ``clear`` closes it all, ``errors`` leaves it, an empty 200 closes the view.
        """
        stored = self.standin.view(view_id)
        view = copy.deepcopy(stored.view)
        state = self.view_state(view, values or {})
        state.update(extra_state or {})
        view["state"] = {"values": state}
        if private_metadata is not None:
            view["private_metadata"] = private_metadata
        payload: JSON = {
            "type": "view_submission",
            "user": self._user(user, team_id),
            "api_app_id": self.standin.settings.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.standin.issue_trigger(user=user),
            "view": view,
            "response_urls": [],
            **self._grid(self._nowhere(user)),
        }
        response = self._post_payload(payload)
        action, errors = self.standin.apply_view_response(
            view_id, user, response.status, response.body
        )
        self.submissions.append(SubmissionRecord(view_id, user, payload, response, action, errors))
        return response

    def close(self, view_id: str, *, user: str) -> DriverResponse:
        """The user closes the modal: a view_closed payload (sent when notify_on_close)."""
        stored = self.standin.view(view_id)
        payload: JSON = {
            "type": "view_closed",
            "user": self._user(user),
            "api_app_id": self.standin.settings.app_id,
            "token": VERIFICATION_TOKEN,
            "view": stored.view,
            "is_cleared": False,
            **self._grid(self._nowhere(user)),
        }
        self.standin.close_views(user, view_id)
        return self._post_payload(payload)

    # ------------------------------------------------------------ block actions

    def click(
        self,
        channel: str,
        message_ts: str,
        action_id: str,
        *,
        user: str,
        value: str | None = None,
        team_id: str | None = None,
        force: bool = False,
    ) -> DriverResponse:
        """A click on an element of a stored message, like ``block_actions.json``."""
        message = self.standin.message(channel, message_ts)
        channel_id = message.channel
        found = find_element(message.blocks or [], action_id)
        if found is None:
            if not force:
                raise LookupError(f"no element {action_id!r} in message {message_ts}")
            found = ("forced", {"type": "button", "action_id": action_id, "value": value})
        block_id, element = found
        container: JSON = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        msg = message.to_api(include_metadata=False)
        if message.thread_ts:
            container["thread_ts"] = message.thread_ts
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user, team_id),
            "api_app_id": self.standin.settings.app_id,
            "token": VERIFICATION_TOKEN,
            "trigger_id": self.standin.issue_trigger(user=user),
            **self._grid(self._team(self.standin.channel_team(channel_id))),
            "state": {"values": {}},
            "actions": [action_payload(block_id, element, value)],
            "container": container,
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
            "response_url": self.standin.issue_response_url(
                channel=channel_id,
                user=user,
                message_ts=message.ts,
                thread_ts=message.thread_ts,
            ),
            "message": msg,
        }
        return self._post_payload(payload)

    def click_in_view(
        self,
        view_id: str,
        action_id: str,
        *,
        user: str,
        value: str | None = None,
        values: dict[str, Any] | None = None,
        force: bool = False,
    ) -> DriverResponse:
        """A block_actions from inside a modal or Home tab (container type ``view``)."""
        view = copy.deepcopy(self.standin.view(view_id).view)
        found = find_element(view.get("blocks", []), action_id)
        if found is None:
            if not force:
                raise LookupError(f"no element {action_id!r} in view {view_id}")
            found = ("forced", {"type": "button", "action_id": action_id, "value": value})
        block_id, element = found
        view["state"] = {"values": self.view_state(view, values or {})}
        payload: JSON = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.standin.settings.app_id,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view_id},
            "trigger_id": self.standin.issue_trigger(user=user),
            **self._grid(self._nowhere(user)),
            "view": view,
            "actions": [action_payload(block_id, element, value)],
        }
        return self._post_payload(payload)

    # ------------------------------------------------------------ events

    def event(
        self,
        event: JSON,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        *,
        event_id: str | None = None,
        team_id: str | None = None,
    ) -> DriverResponse:
        """An Events API envelope like ``app_home_opened.json``, sent as JSON.

        Pass the same ``event_id`` with ``retry_num`` to replay a delivery as Slack's retry;
        ``team_id``: the workspace the event happened in (default: ours).
        """
        if event_id is None:
            self._event_counter += 1
            event_id = f"Ev{self._event_counter:010d}"
        cfg = self.standin.settings
        grid_event = cfg.enterprise_id is not None and (team_id is None or cfg.ours(team_id))
        envelope: JSON = {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id or self.standin.team_id,
            **({"enterprise_id": cfg.enterprise_id} if grid_event else {}),
            "api_app_id": cfg.app_id,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
            # which installation the event is for: an org-wide one names no workspace
            "authorizations": [
                {
                    "enterprise_id": cfg.enterprise_id,
                    "team_id": None
                    if cfg.is_enterprise_install
                    else (team_id if team_id and self._several() else self.standin.team_id),
                    "user_id": self.standin.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": cfg.is_enterprise_install,
                }
            ],
        }
        headers: dict[str, str] = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        body = json.dumps(envelope).encode()
        return self.raw(body, "application/json", url=self.events_url, headers=headers)

    def app_uninstalled(self, team_id: str | None = None) -> DriverResponse:
        """Someone removed the app: Slack revokes its tokens, then sends ``app_uninstalled``
        (``team_id``: from that one of several workspaces only)."""
        self.standin.oauth.revoke_all(team_id)
        return self.event(
            {"type": "app_uninstalled", "event_ts": f"{time.time():.6f}"}, team_id=team_id
        )

    def tokens_revoked(self) -> DriverResponse:
        """The bot's tokens were revoked (``tokens_revoked`` names the bot user)."""
        self.standin.oauth.revoke_all()
        return self.event(
            {
                "type": "tokens_revoked",
                "tokens": {"oauth": [], "bot": [self.standin.bot_user_id]},
                "event_ts": f"{time.time():.6f}",
            }
        )

    def app_home_opened(self, user: str, *, team_id: str | None = None) -> DriverResponse:
        """``team_id``: the workspace the event happened in (default: the user's own on Grid,
        else ours)."""
        grid = self.standin.settings.enterprise_id is not None or self._several()
        return self.event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": self.standin.dm_channel(user),
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
            team_id=team_id or (self.standin.user_team(user) if grid else None),
        )


def find_element(blocks: list[Any], action_id: str) -> tuple[str, JSON] | None:
    """The (block_id, element) with ``action_id`` in actions, section accessory or input."""
    for block in blocks:
        if not isinstance(block, dict):
            continue
        candidates: list[Any] = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if key in block:
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return None


def _with_emoji(text: Any) -> Any:
    if isinstance(text, dict) and text.get("type") == "plain_text" and "emoji" not in text:
        return {**text, "emoji": True}
    return text


def _options(element: JSON) -> list[JSON]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def _option(element: JSON, value: str) -> JSON:
    """The option object Slack sends for ``value``; forged when not among the options."""
    for option in _options(element):
        if option.get("value") == value:
            out = copy.deepcopy(option)
            out["text"] = _with_emoji(out.get("text"))
            return out
    return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}


def element_value(element: JSON, value: Any) -> JSON:
    """One element's entry in ``state.values``, in the shape Slack uses for its type."""
    kind = str(element.get("type"))
    out: JSON = {"type": kind}
    if kind in ("static_select", "radio_buttons", "overflow"):
        out["selected_option"] = None if value is None else _option(element, str(value))
    elif kind in ("multi_static_select", "checkboxes"):
        out["selected_options"] = [_option(element, str(v)) for v in (value or [])]
    elif kind == "users_select":
        out["selected_user"] = value
    elif kind == "multi_users_select":
        out["selected_users"] = list(value or [])
    elif kind in ("conversations_select", "channels_select"):
        key = "selected_conversation" if kind == "conversations_select" else "selected_channel"
        out[key] = value
    elif kind == "datepicker":
        out["selected_date"] = value
    elif kind == "timepicker":
        out["selected_time"] = value
    elif kind == "datetimepicker":
        out["selected_date_time"] = value
    else:  # plain_text_input, url_text_input, email_text_input, number_input
        out["value"] = None if value is None else str(value)
    return out


def action_payload(block_id: str, element: JSON, value: str | None) -> JSON:
    """The ``actions[0]`` entry for a click on ``element``."""
    kind = str(element.get("type"))
    action: JSON = {
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "type": kind,
        "action_ts": f"{time.time():.6f}",
    }
    if kind == "button":
        action["text"] = _with_emoji(element.get("text"))
        action["value"] = value if value is not None else element.get("value")
        if "style" in element:
            action["style"] = element["style"]
        if "url" in element:
            action["url"] = element["url"]
    else:
        action.update(element_value(element, value))
    return action
