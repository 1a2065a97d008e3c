"""What the bot sent, as a reader sees it: Block Kit blocks turned into plain text.

The outbox row holds a message exactly as it went to Slack (``payload.text`` and
``payload.blocks``); a dossier keeps both and adds this reading of the blocks, without the
buttons and with Slack's markup (``*bold*``, ``<url|label>``, ``&amp;``) undone. Mentions stay
``<@U…>``: the renderings put the person's name there.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]+)>")
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")


def plain(mrkdwn: str) -> str:
    """Slack mrkdwn as plain text: links as ``label (url)``, no emphasis marks, no fences."""
    text = mrkdwn.replace("```", "")
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _CHANNEL.sub(r"#\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return html.unescape(text)


def readable(text: str, blocks: Sequence[Any] | None) -> str:
    """The message as a reader saw it: its blocks in order (headers, sections with their
    fields, context lines, rich text), or its text when it has no blocks."""
    if not blocks:
        return plain(text).strip()
    lines: list[str] = []
    for block in blocks:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind in ("header", "section") and isinstance(block.get("text"), Mapping):
            lines.append(plain(str(block["text"].get("text", ""))))
        if kind == "section":
            for item in block.get("fields") or []:
                if isinstance(item, Mapping):
                    lines.append(plain(str(item.get("text", ""))))
        elif kind == "context":
            parts = [
                plain(str(e.get("text", "")))
                for e in block.get("elements") or []
                if isinstance(e, Mapping) and "text" in e
            ]
            lines.append(" ".join(p for p in parts if p))
        elif kind == "rich_text":
            lines.append(_rich(block.get("elements") or []))
        elif kind == "divider":
            lines.append("")
    return "\n".join(lines).strip()


def _rich(elements: Sequence[Any]) -> str:
    out: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        if "elements" in element:
            out.append(_rich(element["elements"]))
        elif element.get("type") == "text":
            out.append(str(element.get("text", "")))
        elif element.get("type") == "link":
            out.append(str(element.get("text") or element.get("url", "")))
        elif element.get("type") == "user":
            out.append(f"<@{element.get('user_id', '')}>")
    return "".join(out)
