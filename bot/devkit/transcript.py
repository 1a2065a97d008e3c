"""Slack content as the plain text a person reads in the client, for the demo's transcript.

Pure functions (Block Kit JSON in, lines out) so the demo can print what the stand-in holds
the way Slack would show it: mentions as names, dates as their fallback, links as their label,
buttons as ``[Label]``. Only the block types the bot sends are drawn carefully; anything else
shows its type, so a new kind of block is visible rather than silently dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")


def short_name(names: Mapping[str, str], user_id: str) -> str:
    """``Rita Reporter`` from ``Rita Reporter (engineer)``: a mention shows the name only."""
    return names.get(user_id, user_id).split(" (", 1)[0]


def mrkdwn(text: str, names: Mapping[str, str], channels: Mapping[str, str] | None = None) -> str:
    channels = channels or {}
    text = _USER.sub(lambda m: "@" + short_name(names, m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or channels.get(m.group(1), m.group(1))), text)
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _SUBTEAM.sub(lambda m: m.group(2) or "@" + m.group(1), text)
    text = _DATE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    text = text.replace("```", "")  # a code block: Slack draws a box around its text
    return html.unescape(text)  # Slack's &amp; &lt; &gt; escapes


def text_object(obj: Any, names: Mapping[str, str]) -> str:
    if not isinstance(obj, dict):
        return str(obj or "")
    raw = str(obj.get("text", ""))
    return mrkdwn(raw, names) if obj.get("type") == "mrkdwn" else raw


def element(elem: Any, names: Mapping[str, str]) -> str:
    """An interactive element as it looks: a button is ``[Label]``, a menu ``[Label ▾]``."""
    if not isinstance(elem, dict):
        return ""
    kind = elem.get("type")
    if kind == "button":
        return f"[{text_object(elem.get('text'), names)}]"
    if kind in ("mrkdwn", "plain_text"):
        return text_object(elem, names)
    if kind == "image":
        return f"[image: {elem.get('alt_text', '')}]"
    label = text_object(elem.get("placeholder"), names) or str(kind)
    return f"[{label} ▾]"


def blocks(items: Any, names: Mapping[str, str], fallback: str = "") -> list[str]:
    """The lines a message or view shows; ``fallback`` (the message text) when it has no blocks."""
    if not items:
        return mrkdwn(fallback, names).splitlines()
    lines: list[str] = []
    for block in items:
        lines.extend(_block(block, names))
    return lines


def _block(block: Any, names: Mapping[str, str]) -> list[str]:
    if not isinstance(block, dict):
        return []
    kind = block.get("type")
    if kind == "header":
        return [f"== {text_object(block.get('text'), names)} =="]
    if kind == "section":
        lines = text_object(block.get("text"), names).splitlines() if block.get("text") else []
        for field in block.get("fields") or []:
            label, _, value = text_object(field, names).partition("\n")
            lines.append(f"{label}: {value.replace(chr(10), ' / ')}" if value else label)
        if "accessory" in block:
            accessory = element(block["accessory"], names)
            lines = [*lines[:-1], f"{lines[-1]}  {accessory}"] if lines else [accessory]
        return lines
    if kind == "context":
        parts = [element(e, names) for e in block.get("elements") or []]
        return [f"  {part}" for part in " · ".join(parts).splitlines()]
    if kind == "actions":
        return ["  ".join(element(e, names) for e in block.get("elements") or [])]
    if kind == "divider":
        return ["———"]
    if kind == "input":
        label = text_object(block.get("label"), names)
        return [f"{label}: {element(block.get('element'), names)}"]
    return [f"[{kind} block]"]


def chosen(elem: Mapping[str, Any], value: Any, names: Mapping[str, str] | None = None) -> str:
    """What the user sees after choosing ``value`` in ``elem``: option labels, not values;
    a person picked in a user menu by name."""
    if elem.get("type") in ("users_select", "multi_users_select"):
        people = value if isinstance(value, list | tuple) else [value]
        return ", ".join(short_name(names or {}, str(p)) for p in people)
    options = {
        str(o.get("value")): str((o.get("text") or {}).get("text", o.get("value")))
        for o in elem.get("options") or []
    }
    if isinstance(value, list | tuple):
        return ", ".join(options.get(str(v), str(v)) for v in value)
    return options.get(str(value), str(value))
