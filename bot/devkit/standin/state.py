"""The stand-in's workspace: users, channels, messages, views, triggers and response URLs.

Plain dataclasses guarded by one re-entrant lock held by the caller (the server or the public
accessors), so concurrent requests see the same consistent state Slack would.
"""

from __future__ import annotations

import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
_ALNUM = string.ascii_uppercase + string.digits


def new_id(prefix: str, length: int = 10) -> str:
    """An ID in Slack's style: a type letter then upper-case letters and digits."""
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


@dataclass
class User:
    id: str
    name: str
    team_id: str
    real_name: str
    is_bot: bool = False
    tz: str = "Europe/Brussels"
    email: str | None = None
    deleted: bool = False
    title: str = ""  # the profile's title: the job a person gave themselves
    enterprise_id: str | None = None  # the Grid organisation of the user's workspace
    enterprise_name: str = ""

    @property
    def home(self) -> str:
        """What Slack puts in an interaction's ``user.team_id``: in an Enterprise
        organisation the organisation's id (``E…``), else the workspace's."""
        return self.enterprise_id or self.team_id

    def to_api(self) -> JSON:
        profile: JSON = {
            "real_name": self.real_name,
            "display_name": self.name,
            "title": self.title,
            "team": self.team_id,
        }
        if self.email:
            profile["email"] = self.email
        grid: JSON = {}
        if self.enterprise_id:  # users.info on Grid: the organisation and its workspaces
            grid["enterprise_user"] = {
                "id": self.id,
                "enterprise_id": self.enterprise_id,
                "enterprise_name": self.enterprise_name,
                "is_admin": False,
                "is_owner": False,
                "teams": [self.team_id],
            }
        return {
            **grid,
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": self.deleted,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": self.tz,
            "tz_label": self.tz,
            "tz_offset": 3600,
            "profile": profile,
        }


@dataclass
class Channel:
    id: str
    name: str
    members: list[str] = field(default_factory=list)
    bot_is_member: bool = True
    is_archived: bool = False
    is_private: bool = False
    is_ext_shared: bool = False
    is_im: bool = False
    im_user: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    host_team: str = ""  # the workspace that created the channel (ours)
    connected_teams: list[str] = field(default_factory=list)  # the other organisations in it

    def to_api(self) -> JSON:
        if self.is_im:
            return {
                "id": self.id,
                "is_im": True,
                "user": self.im_user,
                "created": self.created,
                "is_archived": False,
                "is_org_shared": False,
            }
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_general": False,
            "is_shared": self.is_ext_shared,
            "is_ext_shared": self.is_ext_shared,
            "is_org_shared": False,
            **self._teams(),
            "is_member": self.bot_is_member,
            "created": self.created,
            "num_members": len(self.members) + (1 if self.bot_is_member else 0),
        }

    def _teams(self) -> JSON:
        """Who shares the channel, as Slack's ``conversations.info`` says it: every
        organisation in it, ours (the host) first; a channel nobody shares lists ours only."""
        teams = [self.host_team, *self.connected_teams] if self.is_ext_shared else [self.host_team]
        return {
            "shared_team_ids": teams,
            "connected_team_ids": teams if self.is_ext_shared else [],
            "internal_team_ids": [],
            "pending_connected_team_ids": [],
            "conversation_host_id": self.host_team,
            "context_team_id": self.host_team,
        }


@dataclass
class Usergroup:
    id: str
    handle: str
    name: str
    team_id: str
    users: list[str] = field(default_factory=list)

    def to_api(self, include_users: bool) -> JSON:
        out: JSON = {
            "id": self.id,
            "team_id": self.team_id,
            "is_usergroup": True,
            "name": self.name,
            "handle": self.handle,
            "user_count": len(self.users),
        }
        if include_users:
            out["users"] = list(self.users)
        return out


@dataclass
class Message:
    """A message as it stands now (after updates); ``update_count`` counts chat.update calls."""

    channel: str
    ts: str
    text: str
    blocks: list[Any] | None = None
    user: str | None = None
    bot_id: str | None = None
    attachments: list[Any] | None = None
    app_id: str | None = None
    team: str | None = None
    thread_ts: str | None = None
    metadata: JSON | None = None
    files: list[JSON] = field(default_factory=list)
    reply_broadcast: bool = False
    unfurl_links: bool | None = None
    unfurl_media: bool | None = None
    updated: bool = False
    update_count: int = 0
    history: list[JSON] = field(default_factory=list)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    def to_api(self, *, include_metadata: bool = True) -> JSON:
        out: JSON = {"type": "message", "text": self.text, "ts": self.ts}
        if self.user:
            out["user"] = self.user
        if self.bot_id:
            out["bot_id"] = self.bot_id
            out["app_id"] = self.app_id
        if self.team:
            out["team"] = self.team
        if self.blocks is not None:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.thread_ts:
            out["thread_ts"] = self.thread_ts
        if self.files:
            out["files"] = self.files
            out["upload"] = True
        if self.updated:
            out["edited"] = {"user": self.user, "ts": self.history[-1]["edited_ts"]}
        if self.metadata is not None and include_metadata:
            out["metadata"] = self.metadata
        return out


@dataclass
class Ephemeral:
    channel: str
    user: str
    ts: str
    text: str
    blocks: list[Any] | None = None
    thread_ts: str | None = None
    source: str = "chat.postEphemeral"


@dataclass
class View:
    """A modal or Home tab the bot opened, pushed, updated or published."""

    id: str
    user: str | None
    view: JSON  # the full view as Slack returns it (id, hash, state, …)
    kind: str
    via: str  # open | push | update | publish | response_action
    seq: int
    is_open: bool = True
    history: list[JSON] = field(default_factory=list)

    @property
    def hash(self) -> str:
        return str(self.view.get("hash", ""))


@dataclass
class Trigger:
    id: str
    issued_at: float
    user: str | None
    used: bool = False


@dataclass
class ResponsePost:
    url: str
    body: JSON
    at: float
    status: int
    error: str | None = None


@dataclass
class ResponseUrl:
    url: str
    issued_at: float
    channel: str | None
    user: str | None
    message_ts: str | None
    thread_ts: str | None
    uses: int = 0


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    completed: bool = False
    created: int = field(default_factory=lambda: int(time.time()))


@dataclass
class Call:
    """One Web API request as the stand-in saw and answered it."""

    method: str
    args: JSON
    response: JSON
    status: int
    at: float
    headers: dict[str, str] = field(default_factory=dict)


class Workspace:
    """All mutable state; every access goes through ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, Usergroup] = {}
        self.messages: dict[str, list[Message]] = {}
        self.ephemerals: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.homes: dict[str, View] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.response_posts: list[ResponsePost] = []
        self.files: dict[str, UploadedFile] = {}
        self.calls: list[Call] = []
        self._last_ts_us = 0
        self._counter = 0

    def next_ts(self) -> str:
        """A message ts: epoch seconds, a dot, six digits; strictly increasing."""
        now_us = int(time.time() * 1_000_000)
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def next_seq(self) -> int:
        self._counter += 1
        return self._counter

    def find_message(self, channel: str, ts: str) -> Message | None:
        for message in self.messages.get(channel, []):
            if message.ts == ts:
                return message
        return None

    def channel_by_name(self, name: str) -> Channel | None:
        wanted = name.lstrip("#")
        for channel in self.channels.values():
            if channel.name == wanted and not channel.is_im:
                return channel
        return None

    def dm_for(self, user_id: str, bot_user_id: str) -> Channel:
        """The bot's DM channel with ``user_id``: stable id ``D`` + the user id's tail."""
        for channel in self.channels.values():
            if channel.is_im and channel.im_user == user_id:
                return channel
        channel = Channel(
            id="D" + user_id[1:],
            name=user_id.lower(),
            members=[user_id],
            bot_is_member=True,
            is_private=True,
            is_im=True,
            im_user=user_id,
        )
        self.channels[channel.id] = channel
        return channel
