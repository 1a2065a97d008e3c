"""Web API methods: a table of method → token type, scope, required args → handler.

Handlers run with the workspace lock held and either return the success body (without
``ok``) or raise :class:`ApiError` with Slack's error code. Argument checks follow Slack's
documentation so a bot that forgets a required argument fails here, not in production.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .blockkit import MESSAGE_TEXT_MAX, validate_message_blocks, validate_view
from .state import (
    JSON,
    Channel,
    Ephemeral,
    Message,
    UploadedFile,
    User,
    View,
    Workspace,
    new_id,
)

JSON_ARGS = ("blocks", "attachments", "metadata", "view", "files")


class ApiError(Exception):
    """A Slack ``ok: false`` answer; ``extra`` is merged into the body."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> JSON:
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class Settings:
    team_id: str = "T0TEAM0001"
    team_domain: str = "acceptance"
    team_name: str = "Stand-in"
    bot_user_id: str = "U0BOT00001"
    bot_id: str = "B0BOT00001"
    bot_name: str = "nonconformity"
    app_id: str = "A0APP00001"
    bot_token: str = "xoxb-standin"
    app_token: str = "xapp-standin"
    scopes: tuple[str, ...] = ()
    trigger_ttl: float = 3.0
    response_url_ttl: float = 30 * 60.0
    response_url_max_uses: int = 5
    base_url: str = ""
    # Enterprise Grid: the organisation, whether the app is installed org-wide, and every
    # workspace of the organisation (id → domain; ``team_id`` is the one installed in).
    enterprise_id: str | None = None
    enterprise_name: str = "Stand-in Org"
    is_enterprise_install: bool = False
    workspaces: dict[str, str] = field(default_factory=dict)

    def ours(self, team: str | None) -> bool:
        """A workspace or organisation of ours."""
        return team in (self.team_id, self.enterprise_id, *self.workspaces)


@dataclass
class Context:
    ws: Workspace
    cfg: Settings
    socket_url: Callable[[], str] | None = None


Handler = Callable[[Context, JSON], JSON]


@dataclass(frozen=True)
class Method:
    name: str
    handler: Handler
    required: tuple[str, ...] = ()
    scope: str | None = None
    token: str = "bot"  # bot | app
    missing: dict[str, str] = field(default_factory=dict)  # arg → Slack's specific error


def truthy(value: Any) -> bool:
    """Slack's boolean arguments: JSON true, or "true"/"1" in a form or query string."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return isinstance(value, str) and value.lower() in ("true", "1", "yes")


def decode_args(args: JSON) -> JSON:
    """JSON-decode the arguments a form body carries as JSON strings (blocks, view, …)."""
    out = dict(args)
    for key in JSON_ARGS:
        value = out.get(key)
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            try:
                out[key] = json.loads(value)
            except ValueError as exc:
                raise ApiError("invalid_json", arg=key) from exc
    return out


def check_required(method: Method, args: JSON) -> None:
    for name in method.required:
        if args.get(name) in (None, ""):
            if name in method.missing:
                raise ApiError(method.missing[name])
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
            )


# ---------------------------------------------------------------- helpers


def _user(ctx: Context, user_id: Any) -> User:
    user = ctx.ws.users.get(str(user_id))
    if user is None:
        raise ApiError("user_not_found")
    return user


def _channel(ctx: Context, channel_id: Any) -> Channel:
    """Resolve a channel argument: an ID, a #name, or a user ID meaning that user's DM."""
    value = str(channel_id)
    if value[:1] in ("U", "W") and value not in ctx.ws.channels:
        if value not in ctx.ws.users:
            raise ApiError("channel_not_found")
        return ctx.ws.dm_for(value, ctx.cfg.bot_user_id)
    channel = ctx.ws.channels.get(value) or ctx.ws.channel_by_name(value)
    if channel is None:
        raise ApiError("channel_not_found")
    return channel


def _readable(ctx: Context, channel: Channel) -> None:
    if not channel.bot_is_member:
        raise ApiError("not_in_channel")


def _postable(ctx: Context, channel: Channel) -> None:
    if channel.is_archived:
        raise ApiError("is_archived")
    if not channel.bot_is_member and (
        channel.is_private or "chat:write.public" not in ctx.cfg.scopes
    ):
        raise ApiError("not_in_channel")


def _content(args: JSON, *, require: bool = True) -> tuple[str, list[Any] | None, JSON]:
    """Text and blocks of a chat.* call, validated; ``extra`` carries Slack's warnings."""
    text = args.get("text")
    blocks = args.get("blocks")
    if require and not text and not blocks and not args.get("attachments"):
        raise ApiError("no_text")
    if blocks is not None:
        errors = validate_message_blocks(blocks)
        if errors:
            raise ApiError("invalid_blocks", errors=errors)
    extra: JSON = {}
    text = "" if text is None else str(text)
    if len(text) > MESSAGE_TEXT_MAX:
        text = text[:MESSAGE_TEXT_MAX]
        extra["warning"] = "message_truncated"
        extra["response_metadata"] = {"warnings": ["message_truncated"]}
    return text, blocks, extra


def _metadata(args: JSON) -> JSON | None:
    metadata = args.get("metadata")
    if metadata in (None, ""):
        return None
    if not isinstance(metadata, dict):
        raise ApiError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(
        metadata.get("event_payload"), dict
    ):
        raise ApiError("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}


def _thread_root(ctx: Context, channel: Channel, thread_ts: Any) -> str | None:
    if thread_ts in (None, ""):
        return None
    parent = ctx.ws.find_message(channel.id, str(thread_ts))
    if parent is None:
        raise ApiError("thread_not_found")
    return parent.thread_ts if parent.is_reply else parent.ts


def post_bot_message(
    ctx: Context,
    channel: Channel,
    text: str,
    blocks: list[Any] | None,
    *,
    thread_ts: str | None = None,
    metadata: JSON | None = None,
    files: list[JSON] | None = None,
    reply_broadcast: bool = False,
) -> Message:
    """Store a message from the bot; shared by chat.postMessage, files and response URLs."""
    message = Message(
        channel=channel.id,
        ts=ctx.ws.next_ts(),
        text=text,
        blocks=blocks,
        user=ctx.cfg.bot_user_id,
        bot_id=ctx.cfg.bot_id,
        app_id=ctx.cfg.app_id,
        team=ctx.cfg.team_id,
        thread_ts=thread_ts,
        metadata=metadata,
        files=files or [],
        reply_broadcast=reply_broadcast,
    )
    ctx.ws.messages.setdefault(channel.id, []).append(message)
    return message


def _with_thread_info(ctx: Context, message: Message, include_metadata: bool) -> JSON:
    out = message.to_api(include_metadata=include_metadata)
    if not message.is_reply:
        replies = [m for m in ctx.ws.messages.get(message.channel, []) if m.thread_ts == message.ts]
        replies = [m for m in replies if m.ts != message.ts]
        if replies:
            out["thread_ts"] = message.ts
            out["reply_count"] = len(replies)
            out["reply_users"] = sorted({m.user for m in replies if m.user})
            out["latest_reply"] = replies[-1].ts
    return out


def _permalink(channel: str, ts: str) -> str:
    return f"https://standin.slack.com/archives/{channel}/p{ts.replace('.', '')}"


def _limit(args: JSON, default: int) -> int:
    try:
        return max(1, min(999, int(args.get("limit") or default)))
    except (TypeError, ValueError) as exc:
        raise ApiError("invalid_limit") from exc


def _page(args: JSON, items: list[Any], default: int) -> tuple[list[Any], str]:
    """One page of ``items`` from ``cursor`` on, and the cursor of the next ("" at the end),
    opaque as Slack's are (base64 of where the page stops)."""
    start = 0
    cursor = args.get("cursor")
    if cursor:
        try:
            decoded = base64.b64decode(str(cursor), validate=True).decode()
            prefix, _, offset = decoded.partition(":")
            start = int(offset)
            if prefix != "next" or start < 0:
                raise ValueError(decoded)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError("invalid_cursor") from exc
    limit = _limit(args, default)
    page = items[start : start + limit]
    more = start + limit < len(items)
    return page, base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""


def _history_scope(ctx: Context, channel: Channel) -> None:
    """Reading a conversation needs the scope of its type: ``channels:history`` for a public
    channel, ``groups:history`` for a private one, ``im:history`` for a DM (a Slack Connect
    channel is public or private like any other)."""
    _scope(ctx, channel, "history")


def _read_scope(ctx: Context, channel: Channel) -> None:
    _scope(ctx, channel, "read")


def _scope(ctx: Context, channel: Channel, what: str) -> None:
    kind = "im" if channel.is_im else "groups" if channel.is_private else "channels"
    needed = f"{kind}:{what}"
    if needed not in ctx.cfg.scopes:
        raise ApiError("missing_scope", needed=needed, provided=",".join(ctx.cfg.scopes))


def _ts_float(value: Any, default: float) -> float:
    if value in (None, ""):
        return default
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ApiError("invalid_ts_oldest") from exc


# ---------------------------------------------------------------- methods


def auth_test(ctx: Context, args: JSON) -> JSON:
    """On Grid ``enterprise_id`` too; an org-wide token answers for the organisation (its id
    as ``team_id``), not for one workspace."""
    cfg = ctx.cfg
    org_wide = cfg.is_enterprise_install and cfg.enterprise_id
    out: JSON = {
        "url": f"https://{cfg.team_domain}.slack.com/",
        "team": cfg.enterprise_name if org_wide else cfg.team_name,
        "user": cfg.bot_name,
        "team_id": cfg.enterprise_id if org_wide else cfg.team_id,
        "user_id": cfg.bot_user_id,
        "bot_id": cfg.bot_id,
        "is_enterprise_install": bool(org_wide),
    }
    if cfg.enterprise_id:
        out["enterprise_id"] = cfg.enterprise_id
    return out


def auth_revoke(ctx: Context, args: JSON) -> JSON:
    """Answered by the server (``SlackStandIn._revoke``), which knows the calling token; this
    entry gives the method its place in the table."""
    return {"revoked": False}


def acting_team(ctx: Context, args: JSON) -> str:
    """The workspace a workspace-scoped method acts in. An org-wide token reaches every
    workspace of the organisation, so Slack requires ``team_id`` (``missing_argument``) and
    refuses a workspace the app was not granted (``team_access_not_granted``); a workspace
    token ignores the argument."""
    cfg = ctx.cfg
    if not (cfg.is_enterprise_install and cfg.enterprise_id):
        return cfg.team_id
    team = args.get("team_id")
    if team in (None, ""):
        raise ApiError("missing_argument")
    if str(team) not in cfg.workspaces:
        raise ApiError("team_access_not_granted")
    return str(team)


def chat_post_message(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    _postable(ctx, channel)
    text, blocks, extra = _content(args)
    thread_ts = _thread_root(ctx, channel, args.get("thread_ts"))
    message = post_bot_message(
        ctx,
        channel,
        text,
        blocks,
        thread_ts=thread_ts,
        metadata=_metadata(args),
        reply_broadcast=truthy(args.get("reply_broadcast")) and thread_ts is not None,
    )
    if "unfurl_links" in args:
        message.unfurl_links = truthy(args["unfurl_links"])
    if "unfurl_media" in args:
        message.unfurl_media = truthy(args["unfurl_media"])
    return {"channel": channel.id, "ts": message.ts, "message": message.to_api(), **extra}


def chat_update(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    if channel.is_archived:
        raise ApiError("is_archived")
    message = ctx.ws.find_message(channel.id, str(args["ts"]))
    if message is None:
        raise ApiError("message_not_found")
    if message.user != ctx.cfg.bot_user_id:
        raise ApiError("cant_update_message")
    text, blocks, extra = _content(args, require=False)
    metadata = _metadata(args)
    message.history.append(
        {"text": message.text, "blocks": message.blocks, "edited_ts": ctx.ws.next_ts()}
    )
    if "text" in args:
        message.text = text
    if "blocks" in args:
        message.blocks = blocks
    if metadata is not None:
        message.metadata = metadata
    message.updated = True
    message.update_count += 1
    return {
        "channel": channel.id,
        "ts": message.ts,
        "text": message.text,
        "message": message.to_api(),
        **extra,
    }


def chat_delete(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    message = ctx.ws.find_message(channel.id, str(args["ts"]))
    if message is None:
        raise ApiError("message_not_found")
    if message.user != ctx.cfg.bot_user_id:
        raise ApiError("cant_delete_message")
    ctx.ws.messages[channel.id].remove(message)
    return {"channel": channel.id, "ts": message.ts}


def chat_post_ephemeral(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    _postable(ctx, channel)
    user = _user(ctx, args["user"])
    if not channel.is_im and user.id not in channel.members:
        raise ApiError("user_not_in_channel")
    text, blocks, _ = _content(args)
    ts = ctx.ws.next_ts()
    thread_ts = args.get("thread_ts") or None
    ctx.ws.ephemerals.append(
        Ephemeral(channel.id, user.id, ts, text, blocks, str(thread_ts) if thread_ts else None)
    )
    return {"message_ts": ts}


def chat_get_permalink(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    if channel.is_private and not channel.bot_is_member:
        raise ApiError("channel_not_found")  # Slack does not show a private channel to outsiders
    message = ctx.ws.find_message(channel.id, str(args["message_ts"]))
    if message is None:
        raise ApiError("message_not_found")
    return {"channel": channel.id, "permalink": _permalink(channel.id, message.ts)}


def conversations_open(ctx: Context, args: JSON) -> JSON:
    if args.get("channel"):
        return {"channel": _channel(ctx, args["channel"]).to_api()}
    users = args.get("users")
    if isinstance(users, str):
        ids = [u.strip() for u in users.split(",") if u.strip()]
    elif isinstance(users, list):
        ids = [str(u) for u in users]
    else:
        ids = []
    if not ids:
        raise ApiError("users_list_not_supplied")
    if len(ids) > 1:
        raise ApiError("not_supported", detail="the stand-in opens one-to-one DMs only")
    _user(ctx, ids[0])
    channel = ctx.ws.dm_for(ids[0], ctx.cfg.bot_user_id)
    return {"no_op": False, "already_open": False, "channel": {"id": channel.id}}


def conversations_history(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    _history_scope(ctx, channel)
    _readable(ctx, channel)
    include_metadata = truthy(args.get("include_all_metadata"))
    oldest = _ts_float(args.get("oldest"), 0.0)
    latest = _ts_float(args.get("latest"), float("inf"))
    inclusive = truthy(args.get("inclusive"))
    top = [
        m
        for m in ctx.ws.messages.get(channel.id, [])
        if (not m.is_reply or m.reply_broadcast)
        and (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)
    ]
    top.sort(key=lambda m: float(m.ts), reverse=True)
    page, cursor = _page(args, top, 100)
    return {
        "messages": [_with_thread_info(ctx, m, include_metadata) for m in page],
        "has_more": bool(cursor),
        "pin_count": 0,
        "response_metadata": {"next_cursor": cursor},
    }


def conversations_replies(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    _history_scope(ctx, channel)
    _readable(ctx, channel)
    found = ctx.ws.find_message(channel.id, str(args["ts"]))
    if found is None:
        raise ApiError("thread_not_found")
    root_ts = found.thread_ts if found.is_reply else found.ts
    include_metadata = truthy(args.get("include_all_metadata"))
    thread = [
        m for m in ctx.ws.messages.get(channel.id, []) if m.ts == root_ts or m.thread_ts == root_ts
    ]
    thread.sort(key=lambda m: float(m.ts))
    page, cursor = _page(args, thread, 1000)
    return {
        "messages": [_with_thread_info(ctx, m, include_metadata) for m in page],
        "has_more": bool(cursor),
        "response_metadata": {"next_cursor": cursor},
    }


def conversations_info(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    _read_scope(ctx, channel)
    if channel.is_private and not channel.bot_is_member:
        raise ApiError("channel_not_found")
    return {"channel": channel.to_api()}


def conversations_members(ctx: Context, args: JSON) -> JSON:
    channel = _channel(ctx, args["channel"])
    _read_scope(ctx, channel)
    if channel.is_private and not channel.bot_is_member:
        raise ApiError("channel_not_found")
    members = list(channel.members)
    if channel.bot_is_member and ctx.cfg.bot_user_id not in members:
        members.append(ctx.cfg.bot_user_id)
    page, cursor = _page(args, members, 100)
    return {"members": page, "response_metadata": {"next_cursor": cursor}}


def users_list(ctx: Context, args: JSON) -> JSON:
    # Slack lists the workspace's own members; Slack Connect users of other teams are not.
    team = acting_team(ctx, args)
    users = [u.to_api() for u in ctx.ws.users.values() if u.team_id in (None, team)]
    page, cursor = _page(args, users, 100)
    return {
        "members": page,
        "cache_ts": int(time.time()),
        "response_metadata": {"next_cursor": cursor},
    }


def users_info(ctx: Context, args: JSON) -> JSON:
    return {"user": _user(ctx, args["user"]).to_api()}


def usergroups_list(ctx: Context, args: JSON) -> JSON:
    include_users = truthy(args.get("include_users"))
    team = acting_team(ctx, args)
    groups = [g for g in ctx.ws.usergroups.values() if g.team_id == team]
    return {"usergroups": [g.to_api(include_users) for g in groups]}


def usergroups_users_list(ctx: Context, args: JSON) -> JSON:
    team = acting_team(ctx, args)
    group = ctx.ws.usergroups.get(str(args["usergroup"]))
    if group is None or group.team_id != team:
        raise ApiError("no_such_subteam")
    return {"users": list(group.users)}


# ---------------------------------------------------------------- views


def _view_arg(args: JSON) -> JSON:
    view = args.get("view")
    if not isinstance(view, dict):
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] must be a view object [json-pointer:/view]"]},
        )
    errors = validate_view(view)
    if errors:
        raise ApiError("invalid_arguments", response_metadata={"messages": errors})
    return view


def consume_trigger(ctx: Context, trigger_id: Any) -> str | None:
    """Use a trigger once within its TTL; returns the user it was issued for."""
    trigger = ctx.ws.triggers.get(str(trigger_id))
    if trigger is None:
        raise ApiError("invalid_trigger_id")
    if trigger.used:
        raise ApiError("exchanged_trigger_id")
    if time.monotonic() - trigger.issued_at > ctx.cfg.trigger_ttl:
        raise ApiError("expired_trigger_id")
    trigger.used = True
    return trigger.user


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def full_view(ctx: Context, view: JSON, view_id: str, root: str, previous: str | None) -> JSON:
    """The view as Slack returns and later sends it: given fields plus Slack's own."""
    out: JSON = {
        "id": view_id,
        "team_id": ctx.cfg.team_id,
        "type": view.get("type"),
        "private_metadata": "",
        "callback_id": "",
        "external_id": "",
        "state": {"values": {}},
        "hash": _new_hash(),
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": previous,
        "root_view_id": root,
        "app_id": ctx.cfg.app_id,
        "app_installed_team_id": ctx.cfg.team_id,
        "bot_id": ctx.cfg.bot_id,
    }
    out.update(json.loads(json.dumps(view)))
    out["id"] = view_id
    out["state"] = {"values": {}}
    return out


def _check_external_id(ctx: Context, view: JSON, own_id: str | None) -> None:
    external_id = view.get("external_id")
    if not external_id:
        return
    for other in ctx.ws.views.values():
        if other.id != own_id and other.view.get("external_id") == external_id:
            raise ApiError("duplicate_external_id")


def open_modal(ctx: Context, user: str | None, view: JSON, via: str, previous: View | None) -> View:
    view_id = new_id("V")
    root = str(previous.view["root_view_id"]) if previous else view_id
    stored = View(
        id=view_id,
        user=user,
        view=full_view(ctx, view, view_id, root, previous.id if previous else None),
        kind="modal",
        via=via,
        seq=ctx.ws.next_seq(),
    )
    ctx.ws.views[view_id] = stored
    return stored


def modal_stack(ctx: Context, user: str | None) -> list[View]:
    """The user's open modals, root first."""
    views = [v for v in ctx.ws.views.values() if v.is_open and v.kind == "modal" and v.user == user]
    return sorted(views, key=lambda v: v.seq)


def views_open(ctx: Context, args: JSON) -> JSON:
    view = _view_arg(args)
    if view.get("type") != "modal":
        raise ApiError("invalid_arguments", response_metadata={"messages": ["type must be modal"]})
    _check_external_id(ctx, view, None)
    user = consume_trigger(ctx, args["trigger_id"])
    for stale in modal_stack(ctx, user):  # a new modal replaces whatever the user had open
        stale.is_open = False
    return {"view": open_modal(ctx, user, view, "open", None).view}


def views_push(ctx: Context, args: JSON) -> JSON:
    view = _view_arg(args)
    if view.get("type") != "modal":
        raise ApiError("invalid_arguments", response_metadata={"messages": ["type must be modal"]})
    _check_external_id(ctx, view, None)
    user = consume_trigger(ctx, args["trigger_id"])
    stack = modal_stack(ctx, user)
    if len(stack) >= 3:
        raise ApiError("push_limit_reached")
    return {"view": open_modal(ctx, user, view, "push", stack[-1] if stack else None).view}


def update_view(ctx: Context, stored: View, view: JSON, via: str) -> None:
    stored.history.append(stored.view)
    new = full_view(
        ctx, view, stored.id, str(stored.view["root_view_id"]), stored.view["previous_view_id"]
    )
    stored.view = new
    stored.via = via
    stored.seq = ctx.ws.next_seq()


def views_update(ctx: Context, args: JSON) -> JSON:
    view = _view_arg(args)
    stored: View | None = None
    if args.get("view_id"):
        stored = ctx.ws.views.get(str(args["view_id"]))
    elif args.get("external_id"):
        stored = next(
            (v for v in ctx.ws.views.values() if v.view.get("external_id") == args["external_id"]),
            None,
        )
    else:
        raise ApiError(
            "invalid_arguments",
            response_metadata={"messages": ["[ERROR] view_id or external_id is required"]},
        )
    if stored is None:
        raise ApiError("not_found")
    if args.get("hash") and args["hash"] != stored.hash:
        raise ApiError("hash_conflict")
    if view.get("type") != stored.kind:
        raise ApiError("invalid_arguments", response_metadata={"messages": ["type mismatch"]})
    _check_external_id(ctx, view, stored.id)
    update_view(ctx, stored, view, "update")
    return {"view": stored.view}


def views_publish(ctx: Context, args: JSON) -> JSON:
    view = _view_arg(args)
    if view.get("type") != "home":
        raise ApiError("invalid_arguments", response_metadata={"messages": ["type must be home"]})
    user = _user(ctx, args["user_id"])
    current = ctx.ws.homes.get(user.id)
    if current is not None and args.get("hash") and args["hash"] != current.hash:
        raise ApiError("hash_conflict")
    if current is None:
        view_id = new_id("V")
        current = View(
            id=view_id,
            user=user.id,
            view=full_view(ctx, view, view_id, view_id, None),
            kind="home",
            via="publish",
            seq=ctx.ws.next_seq(),
        )
        ctx.ws.homes[user.id] = current
    else:
        update_view(ctx, current, view, "publish")
    return {"view": current.view}


# ---------------------------------------------------------------- socket mode, files


def apps_connections_open(ctx: Context, args: JSON) -> JSON:
    if ctx.socket_url is None:
        raise ApiError("socket_mode_not_enabled")
    return {"url": ctx.socket_url()}


def files_get_upload_url(ctx: Context, args: JSON) -> JSON:
    try:
        length = int(args["length"])
    except (TypeError, ValueError) as exc:
        raise ApiError("invalid_arguments") from exc
    file_id = new_id("F")
    ctx.ws.files[file_id] = UploadedFile(id=file_id, filename=str(args["filename"]), length=length)
    return {"upload_url": f"{ctx.cfg.base_url}/upload/v1/{file_id}", "file_id": file_id}


def file_object(ctx: Context, f: UploadedFile) -> JSON:
    url = f"{ctx.cfg.base_url}/files/{f.id}/{f.filename}"
    return {
        "id": f.id,
        "created": f.created,
        "name": f.filename,
        "title": f.title or f.filename,
        "size": len(f.content or b""),
        "user": ctx.cfg.bot_user_id,
        "url_private": url,
        "url_private_download": url,
        "permalink": f"https://standin.slack.com/files/{ctx.cfg.bot_user_id}/{f.id}/{f.filename}",
        "channels": [f.channel] if f.channel else [],
    }


def files_complete_upload(ctx: Context, args: JSON) -> JSON:
    items = args["files"]
    if not isinstance(items, list) or not items:
        raise ApiError("invalid_arguments")
    channel = _channel(ctx, args["channel_id"]) if args.get("channel_id") else None
    if channel is not None:
        _postable(ctx, channel)
    thread_ts = _thread_root(ctx, channel, args.get("thread_ts")) if channel else None
    done: list[UploadedFile] = []
    for item in items:
        f = ctx.ws.files.get(str(item.get("id") if isinstance(item, dict) else item))
        if f is None or f.completed:
            raise ApiError("file_not_found")
        if f.content is None:
            raise ApiError("file_upload_not_found")
        done.append(f)
    objects: list[JSON] = []
    for f, item in zip(done, items, strict=True):
        f.completed = True
        f.title = item.get("title") or f.filename
        f.channel = channel.id if channel else None
        f.thread_ts = thread_ts
        objects.append(file_object(ctx, f))
    if channel is not None:
        comment = str(args.get("initial_comment") or "")
        post_bot_message(ctx, channel, comment, None, thread_ts=thread_ts, files=objects)
    return {"files": objects}


def files_info(ctx: Context, args: JSON) -> JSON:
    f = ctx.ws.files.get(str(args["file"]))
    if f is None or not f.completed:
        raise ApiError("file_not_found")
    return {"file": file_object(ctx, f)}


def _table(*methods: Method) -> dict[str, Method]:
    return {m.name: m for m in methods}


METHODS: dict[str, Method] = _table(
    Method("auth.test", auth_test),
    Method("auth.revoke", auth_revoke),
    Method(
        "chat.postMessage",
        chat_post_message,
        ("channel",),
        "chat:write",
        missing={"channel": "channel_not_found"},
    ),
    Method("chat.update", chat_update, ("channel", "ts"), "chat:write"),
    Method("chat.delete", chat_delete, ("channel", "ts"), "chat:write"),
    Method("chat.postEphemeral", chat_post_ephemeral, ("channel", "user"), "chat:write"),
    Method("chat.getPermalink", chat_get_permalink, ("channel", "message_ts")),
    Method("conversations.open", conversations_open, (), "im:write"),
    # Reading a conversation needs the scope of its type, checked by the method itself.
    Method("conversations.history", conversations_history, ("channel",)),
    Method("conversations.replies", conversations_replies, ("channel", "ts")),
    Method("conversations.info", conversations_info, ("channel",)),
    Method("conversations.members", conversations_members, ("channel",)),
    Method("users.list", users_list, (), "users:read"),
    Method("users.info", users_info, ("user",), "users:read", missing={"user": "user_not_found"}),
    Method("usergroups.list", usergroups_list, (), "usergroups:read"),
    Method("usergroups.users.list", usergroups_users_list, ("usergroup",), "usergroups:read"),
    Method("views.open", views_open, ("trigger_id", "view")),
    Method("views.push", views_push, ("trigger_id", "view")),
    Method("views.update", views_update, ("view",)),
    Method("views.publish", views_publish, ("user_id", "view")),
    Method("apps.connections.open", apps_connections_open, (), "connections:write", "app"),
    Method(
        "files.getUploadURLExternal", files_get_upload_url, ("filename", "length"), "files:write"
    ),
    Method("files.completeUploadExternal", files_complete_upload, ("files",), "files:write"),
    Method("files.info", files_info, ("file",), "files:read"),
)

DEFAULT_SCOPES: tuple[str, ...] = (
    "chat:write",
    "commands",
    "channels:history",
    "groups:history",
    "im:history",
    "im:write",
    "channels:read",
    "groups:read",
    "im:read",
    "users:read",
    "usergroups:read",
    "files:write",
    "files:read",
)
