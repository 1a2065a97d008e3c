"""Slack's mrkdwn as HTML: bold, italic, strike, code, quotes, links, mentions and dates.

Angle-bracket entities are resolved first (they cannot contain a raw ``<`` or ``>``), then the
rest is un-escaped from Slack's ``&lt; &gt; &amp;`` and HTML-escaped again, so what a user
typed shows literally and nothing in a message can inject markup into the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_ENTITY = re.compile(r"<([^<>\n]+)>")
_CODE_BLOCK = re.compile(r"```(.+?)```", re.S)
_CODE = re.compile(r"`([^`\n]+)`")
_EDGE_BEFORE = r"(?<![\w])"
_EDGE_AFTER = r"(?![\w])"
_STYLES = (
    ("*", "b"),
    ("_", "i"),
    ("~", "s"),
)
_SLOT = "\ue000{}\ue001"
_SLOT_RE = re.compile("\ue000(\\d+)\ue001")


@dataclass
class Names:
    """How ids read on the page: user, channel and user-group names, as the stand-in knows them."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    def user(self, user_id: str) -> str:
        return self.users.get(user_id, user_id)


def slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_html(text: str, names: Names) -> str:
    """One mrkdwn text object's ``text`` as safe HTML."""
    slots: list[str] = []

    def keep(rendered: str) -> str:
        slots.append(rendered)
        return _SLOT.format(len(slots) - 1)

    text = _CODE_BLOCK.sub(lambda m: keep(f"<pre>{_plain(m.group(1).strip())}</pre>"), text)
    text = _CODE.sub(lambda m: keep(f"<code>{_plain(m.group(1))}</code>"), text)
    text = _ENTITY.sub(lambda m: keep(_entity(m.group(1), names)), text)
    out = html.escape(slack_unescape(text), quote=False)
    for mark, tag in _STYLES:
        out = _style(out, mark, tag)
    out = _quotes(out)
    out = out.replace("\n", "<br>")
    for _ in range(3):  # a slot can hold a slot (code inside a link text is not nested further)
        out = _SLOT_RE.sub(lambda m: slots[int(m.group(1))], out)
    return out


def plain_to_html(text: str) -> str:
    """A plain_text object: shown as typed, line breaks kept."""
    return html.escape(text, quote=False).replace("\n", "<br>")


def _plain(text: str) -> str:
    return html.escape(slack_unescape(text), quote=False)


def _style(text: str, mark: str, tag: str) -> str:
    m = re.escape(mark)
    pattern = re.compile(
        rf"{_EDGE_BEFORE}{m}(?=\S)([^{m}\n]*?\S|\S){m}{_EDGE_AFTER}",
    )
    return pattern.sub(lambda found: f"<{tag}>{found.group(1)}</{tag}>", text)


def _quotes(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        if line.startswith("&gt; ") or line == "&gt;":
            out.append(f"<blockquote>{line[5:]}</blockquote>")
        else:
            out.append(line)
    return "\n".join(out).replace("</blockquote>\n<blockquote>", "<br>")


def _entity(body: str, names: Names) -> str:
    target, _, label = body.partition("|")
    handler = _ENTITY_KINDS.get(target[:1])
    if handler is not None:
        return handler(target, label, names)
    if target.startswith(("http://", "https://", "mailto:")):
        href = html.escape(slack_unescape(target), quote=True)
        shown = _plain(label) if label else html.escape(slack_unescape(target), quote=False)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{shown}</a>'
    return html.escape(slack_unescape(f"<{body}>"), quote=False)


def _user(target: str, label: str, names: Names) -> str:
    user_id = target[1:]
    return f'<span class="mention">@{html.escape(names.user(user_id), quote=False)}</span>'


def _channel(target: str, label: str, names: Names) -> str:
    channel_id = target[1:]
    name = label or names.channels.get(channel_id, channel_id)
    return f'<span class="mention">#{html.escape(name, quote=False)}</span>'


def _special(target: str, label: str, names: Names) -> str:
    command, _, arg = target[1:].partition("^")
    if command == "date":
        return html.escape(slack_unescape(label), quote=False) if label else ""
    if command == "subteam":
        handle = label.lstrip("@") or names.groups.get(arg, arg)
        return f'<span class="mention">@{html.escape(handle, quote=False)}</span>'
    if command in ("here", "channel", "everyone"):
        return f'<span class="mention">@{command}</span>'
    return html.escape(label or command, quote=False)


_ENTITY_KINDS: dict[str, Callable[[str, str, Names], str]] = {
    "@": _user,
    "#": _channel,
    "!": _special,
}
