"""What the page shows one visitor acting as one user: sidebar, channel or Home, thread, modal.

Everything is read from the stand-in (what Slack holds) and drawn with :mod:`bot.sandbox.blocks`;
nothing here knows the bot's messages. The page's script swaps in a region only when its HTML
changed, so a modal being filled in is never redrawn under the visitor's hands.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.devkit.local import PEOPLE
from bot.devkit.mailbox import Mail
from bot.devkit.sandbox.blocks import blocks_html, esc, text_html
from bot.devkit.sandbox.mrkdwn import Names, to_html
from bot.devkit.standin import Channel, Ephemeral, Message, SlackStandIn
from bot.ops.workspace import Workspace

HOME = "home"
MAIL = "mail"  # the Mail pane: what partners outside Slack were e-mailed
_URL = re.compile(r"https?://[^\s<>\"]+")
BOT_NAME = "Nonconformity"
SLACKBOT = "USLACKBOT"
_ROLE = re.compile(r"\s*\((.*)\)\s*$")


@dataclass(frozen=True)
class Answer:
    """Something shown to one user only that the stand-in does not hold: the bot's answer in
    the HTTP body of a slash command, or Slack's own complaint about a command."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[Any] | None = None
    author: str = ""  # "" for the bot, SLACKBOT for Slack itself


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    role: str


def people(standin: SlackStandIn, workspace: Workspace) -> list[Person]:
    """Everyone a visitor can act as: the workspace's people first, with the role they play."""
    partners = {
        contact: partner.name
        for partner in workspace.catalogue.partners
        for contact in partner.contacts
    }
    out: list[Person] = []
    for user in standin.users():
        if user.is_bot or user.deleted:
            continue
        name, described = _split_name(PEOPLE.get(user.id, user.real_name))
        roles = [
            label
            for key, label in (
                ("triage", "triage officer"),
                ("approvers", "approver"),
                ("admins", "admin"),
            )
            if user.id in getattr(workspace.roles, key)
        ]
        if user.id in partners:
            roles.append(f"contact at {partners[user.id]}")
        if user.team_id != standin.team_id and not roles:
            roles.append("external, Slack Connect")
        out.append(Person(user.id, name, ", ".join(roles) or described or "member"))
    rank = {uid: n for n, uid in enumerate(PEOPLE)}
    return sorted(out, key=lambda p: (rank.get(p.id, len(rank)), p.name))


def _split_name(full: str) -> tuple[str, str]:
    match = _ROLE.search(full)
    if match is None:
        return full, ""
    return full[: match.start()], match.group(1)


def names(standin: SlackStandIn) -> Names:
    users = {u.id: _split_name(u.real_name)[0] for u in standin.users()}
    users[standin.bot_user_id] = BOT_NAME
    channels = {c.id: c.name for c in standin.channels() if not c.is_im}
    groups = {g.id: g.handle for g in standin.usergroups()}
    return Names(users, channels, groups)


class PageView:
    """One poll's worth of HTML for ``user`` looking at ``channel`` (and maybe a thread)."""

    def __init__(
        self,
        standin: SlackStandIn,
        workspace: Workspace,
        answers: list[Answer],
        user: str,
        mails: Sequence[Mail] = (),
    ) -> None:
        self.mails = list(mails)
        self.standin = standin
        self.workspace = workspace
        self.answers = answers
        self.user = user
        self.names = names(standin)
        self.people = people(standin, workspace)
        self.pickable = [(p.id, p.name) for p in self.people]
        self.tz = _zone(workspace.timezone)
        self.dm = standin.dm_channel(user)

    # ------------------------------------------------------------ regions

    def state(self, channel: str, thread: str | None, tab: str) -> dict[str, Any]:
        channels = [c for c in self.standin.channels() if not c.is_im]
        known = {c.id for c in channels} | {self.dm, HOME, MAIL}
        if channel not in known:
            channel = self.workspace.triage_channel
        return {
            "user": self.user,
            "channel": channel,
            "sidebar": self.sidebar(channels, channel),
            "header": self.header(channel, channels),
            "body": self.home()
            if channel == HOME
            else self.mailbox()
            if channel == MAIL
            else self.channel(channel),
            "thread": self.thread(channel, thread)
            if thread and channel not in (HOME, MAIL)
            else "",
            "modal": self.modal(),
            "composer": self.composer_hint(channel, channels),
        }

    def sidebar(self, channels: list[Channel], current: str) -> str:
        def item(target: str, label: str, icon: str, extra: str = "") -> str:
            active = " active" if target == current else ""
            count = len(self.standin.messages(target)) if target not in (HOME, MAIL) else 0
            count = len(self.mails) if target == MAIL else count
            return (
                f'<a href="#" class="sb-item{active}{extra}" data-channel="{esc(target)}" '
                f'data-count="{count}">'
                f'<span class="sb-icon">{icon}</span><span class="sb-label">{esc(label)}</span></a>'
            )

        internal = sorted((c for c in channels if not c.is_ext_shared), key=lambda c: c.name)
        shared = sorted((c for c in channels if c.is_ext_shared), key=lambda c: c.name)

        def channel_item(c: Channel) -> str:
            peeking = "" if self.user in c.members else " not-member"
            icon = "🔒" if c.is_private else "#"
            return item(c.id, c.name, icon, peeking)

        sections = [
            '<div class="sb-section">Channels</div>',
            *[channel_item(c) for c in internal],
        ]
        if shared:
            sections += ['<div class="sb-section">Slack Connect</div>']
            sections += [channel_item(c) for c in shared]
        sections += [
            '<div class="sb-section">Direct messages</div>',
            item(self.dm, BOT_NAME, '<span class="avatar tiny bot">N</span>', " dm"),
            '<div class="sb-section">Apps</div>',
            item(HOME, f"{BOT_NAME} · Home", "🏠", " app"),
            '<div class="sb-section">Outside Slack</div>',
            item(MAIL, f"Mail ({len(self.mails)})", "✉", " mail"),
        ]
        return "".join(sections)

    def header(self, channel: str, channels: list[Channel]) -> str:
        if channel == MAIL:
            return (
                '<div class="ch-title">✉ Mail</div><div class="ch-meta">What partners and '
                "authorities outside Slack were e-mailed, as the mail relay accepted it. "
                "A receipt link opens the partner's page in a new tab.</div>"
            )
        if channel in (HOME, self.dm):
            tabs = "".join(
                f'<a href="#" class="tab{" active" if target == channel else ""}" '
                f'data-channel="{esc(target)}">{label}</a>'
                for target, label in ((HOME, "Home"), (self.dm, "Messages"))
            )
            return (
                f'<div class="ch-title"><span class="avatar small bot">N</span> {BOT_NAME}'
                f'<span class="app-badge">APP</span></div><div class="tabs">{tabs}</div>'
            )
        info = next(c for c in channels if c.id == channel)
        badge = '<span class="ext-badge">external</span>' if info.is_ext_shared else ""
        member = (
            ""
            if self.user in info.members
            else '<span class="peek">you are not a member: shown so you can follow along</span>'
        )
        return (
            f'<div class="ch-title"># {esc(info.name)}{badge}</div>'
            f'<div class="ch-meta">{len(info.members)} members {member}</div>'
        )

    def channel(self, channel: str) -> str:
        messages = self.standin.messages(channel)
        replies: dict[str, list[Message]] = {}
        for m in messages:
            if m.is_reply and m.thread_ts:
                replies.setdefault(m.thread_ts, []).append(m)
        items: list[tuple[str, str]] = [
            (m.ts, self.message(m, replies.get(m.ts, []))) for m in messages if not m.is_reply
        ]
        items += [(e.ts, self.only_you(e)) for e in self._private(channel, None)]
        if not items:
            return '<div class="empty">No messages yet.</div>'
        return "".join(html for _, html in sorted(items, key=lambda i: float(i[0])))

    def thread(self, channel: str, thread_ts: str) -> str:
        try:
            parent = self.standin.message(channel, thread_ts)
        except LookupError:
            return ""
        replies = [m for m in self.standin.thread(channel, thread_ts) if m.is_reply]
        items = [(m.ts, self.message(m, [], in_thread=True)) for m in replies]
        items += [(e.ts, self.only_you(e)) for e in self._private(channel, thread_ts)]
        count = len(replies)
        body = "".join(html for _, html in sorted(items, key=lambda i: float(i[0])))
        label = f"{count} repl{'y' if count == 1 else 'ies'}"
        return (
            f'<div class="th-head"><b>Thread</b> <span class="muted"># '
            f"{esc(self.names.channels.get(channel, channel))}</span>"
            f'<button class="th-close" title="Close thread" data-close-thread>✕</button></div>'
            f'<div class="th-body">{self.message(parent, [], in_thread=True)}'
            f'<div class="th-count">{label}</div>{body}</div>'
        )

    def mailbox(self) -> str:
        """Every e-mail the relay stand-in accepted, oldest first: headers and the plain text,
        its links clickable (a receipt link opens the page a partner would see)."""
        if not self.mails:
            return (
                '<div class="empty">No e-mail yet. Partners without Slack are e-mailed when a '
                "corrective measure is approved.</div>"
            )
        cards = []
        for mail in self.mails:
            message = mail.message
            head = "".join(
                f"<div><b>{label}:</b> {esc(str(message.get(name, '')))}</div>"
                for label, name in (
                    ("From", "From"),
                    ("To", "To"),
                    ("Reply-To", "Reply-To"),
                    ("Subject", "Subject"),
                    ("Message-ID", "Message-ID"),
                )
                if message.get(name)
            )
            body = _URL.sub(
                lambda m: (
                    f'<a href="{m.group(0)}" target="_blank" rel="noopener" '
                    f'class="mail-link">{m.group(0)}</a>'
                ),
                esc(mail.text()),
            )
            cards.append(
                f'<div class="msg mail"><div class="msg-main">'
                f'<div class="msg-head"><b class="msg-name">✉ {esc(", ".join(mail.rcpt_tos))}</b>'
                f'<span class="msg-time">{mail.at.astimezone(self.tz).strftime("%H:%M:%S")}'
                f"</span></div>"
                f'<div class="mail-head">{head}</div>'
                f'<div class="mail-body" style="white-space:pre-wrap">{body}</div></div></div>'
            )
        return "".join(cards)

    def home(self) -> str:
        view = self.standin.published_home(self.user)
        if not view:
            return (
                '<div class="empty">The bot has not published a Home tab for you yet '
                "(it does when you open this tab and it handles <code>app_home_opened</code>)."
                "</div>"
            )
        blocks = blocks_html(view.get("blocks") or [], self.names, self.pickable)
        return f'<div class="home" data-view-id="{esc(view.get("id", ""))}">{blocks}</div>'

    def modal(self) -> dict[str, str] | None:
        stack = self.standin.open_views(self.user)
        if not stack:
            return None
        top = stack[-1]
        view = top.view
        title = text_html(view.get("title"), self.names)
        submit = view.get("submit")
        close = text_html(view.get("close"), self.names) or "Cancel"
        buttons = f'<button type="button" class="btn" data-modal-close>{close}</button>'
        if submit:
            buttons += (
                f'<button type="button" class="btn btn-primary" data-modal-submit>'
                f"{text_html(submit, self.names)}</button>"
            )
        back = '<span class="md-back">‹</span> ' if len(stack) > 1 else ""
        html = (
            f'<div class="md-dialog" data-view-id="{esc(top.id)}" role="dialog">'
            f'<div class="md-head"><div class="md-title">{back}{title}</div>'
            f'<button type="button" class="md-x" data-modal-close title="Close">✕</button></div>'
            f'<div class="md-problems"></div>'
            f'<form class="md-body" onsubmit="return false">'
            f"{blocks_html(view.get('blocks') or [], self.names, self.pickable)}</form>"
            f'<div class="md-foot">{buttons}</div></div>'
        )
        return {"key": f"{top.id}:{top.hash}", "html": html}

    def composer_hint(self, channel: str, channels: list[Channel]) -> str:
        if channel in (HOME, MAIL):
            return ""
        if channel == self.dm:
            return f"Message {BOT_NAME} — try /nonconformity help"
        name = self.names.channels.get(channel, channel)
        return f"Message #{name} — try /nonconformity report"

    # ------------------------------------------------------------ messages

    def message(self, m: Message, replies: list[Message], *, in_thread: bool = False) -> str:
        author = m.user or ""
        is_bot = bool(m.bot_id) or author == self.standin.bot_user_id
        name = BOT_NAME if is_bot else self.names.user(author)
        badge = '<span class="app-badge">APP</span>' if is_bot else ""
        if m.blocks:
            body = blocks_html(m.blocks, self.names, self.pickable)
        else:
            body = f'<div class="bk-text">{to_html(m.text, self.names)}</div>'
        for attachment in m.attachments or []:  # a legacy attachment, as an alert posts it
            title = esc(str(attachment.get("title") or ""))
            text = to_html(str(attachment.get("text") or ""), self.names)
            body += f'<div class="bk-attachment"><b>{title}</b><div>{text}</div></div>'
        edited = ' <span class="edited">(edited)</span>' if m.updated else ""
        summary = ""
        if replies and not in_thread:
            last = self._time(replies[-1].ts)
            count = len(replies)
            summary = (
                f'<a href="#" class="replies" data-thread="{esc(m.ts)}">'
                f"{count} repl{'y' if count == 1 else 'ies'}</a>"
                f'<span class="muted"> Last reply {last}</span>'
            )
        elif not in_thread and not m.is_reply:
            summary = (
                f'<a href="#" class="reply-link" data-thread="{esc(m.ts)}">Reply in thread</a>'
            )
        return (
            f'<div class="msg" data-channel="{esc(m.channel)}" data-ts="{esc(m.ts)}">'
            f'{_avatar(name, is_bot)}<div class="msg-main">'
            f'<div class="msg-head"><b class="msg-name">{esc(name)}</b>{badge}'
            f'<span class="msg-time">{self._time(m.ts)}</span>{edited}'
            # Slack's "More actions" menu: the app's message shortcut, on any message
            f'<a href="#" class="msg-shortcut" data-shortcut="report_message" '
            f'title="More actions">⋯ Report as non-conformity</a></div>'
            f'<div class="msg-body">{body}</div>'
            f'<div class="msg-foot">{summary}</div></div></div>'
        )

    def only_you(self, e: Ephemeral | Answer) -> str:
        author = getattr(e, "author", "")
        name = "Slackbot" if author == SLACKBOT else BOT_NAME
        if e.blocks:
            body = blocks_html(e.blocks, self.names, self.pickable)
        else:
            body = f'<div class="bk-text">{to_html(e.text, self.names)}</div>'
        return (
            f'<div class="msg ephemeral" data-channel="{esc(e.channel)}" data-ts="{esc(e.ts)}" '
            f'data-ephemeral="true">{_avatar(name, True)}<div class="msg-main">'
            f'<div class="msg-head"><b class="msg-name">{esc(name)}</b>'
            f'<span class="app-badge">APP</span><span class="msg-time">{self._time(e.ts)}</span>'
            f'<span class="only-you">👁 Only visible to you</span></div>'
            f'<div class="msg-body">{body}</div></div></div>'
        )

    def _private(self, channel: str, thread_ts: str | None) -> list[Ephemeral | Answer]:
        held: list[Ephemeral | Answer] = [
            e for e in self.standin.ephemerals(channel=channel, user=self.user)
        ]
        held += [a for a in self.answers if a.channel == channel and a.user == self.user]
        return [e for e in held if (getattr(e, "thread_ts", None) or None) == thread_ts]

    def _time(self, ts: str) -> str:
        try:
            moment = datetime.fromtimestamp(float(ts), self.tz)
        except (ValueError, OverflowError):
            return ""
        return moment.strftime("%H:%M:%S")


def _avatar(name: str, is_bot: bool) -> str:
    initial = esc((name[:1] or "?").upper())
    hue = sum(ord(c) for c in name) * 47 % 360
    css = "avatar bot" if is_bot else "avatar"
    style = "" if is_bot else f' style="background:hsl({hue},45%,45%)"'
    return f'<div class="{css}"{style}>{initial}</div>'


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def now_ts() -> str:
    return f"{time.time():.6f}"


__all__ = ["HOME", "MAIL", "Answer", "PageView", "Person", "people"]
