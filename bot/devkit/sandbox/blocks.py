"""Block Kit as HTML, the way Slack lays it out: whatever blocks the bot sends are drawn here.

Interactive elements carry ``data-*`` attributes that the page's script turns into the driver's
``block_actions`` (buttons, selects in actions blocks) or collects into ``state.values`` when a
modal is submitted (input blocks). Images are left out: the sandbox has no image host.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

from bot.devkit.sandbox.mrkdwn import Names, plain_to_html, to_html

JSON = dict[str, Any]


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def text_html(obj: Any, names: Names) -> str:
    """A text object (plain_text or mrkdwn) as HTML; anything else as nothing."""
    if not isinstance(obj, dict):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return to_html(text, names)
    return plain_to_html(text)


def blocks_html(blocks: Sequence[Any], names: Names, users: Sequence[tuple[str, str]]) -> str:
    """Message, modal or Home blocks; ``users`` are (id, name) for user pickers."""
    out: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        render = _BLOCKS.get(str(block.get("type")))
        if render is not None:
            out.append(render(block, names, users))
    return "".join(out)


def _header(block: JSON, names: Names, users: Sequence[tuple[str, str]]) -> str:
    return f'<div class="bk-header">{text_html(block.get("text"), names)}</div>'


def _section(block: JSON, names: Names, users: Sequence[tuple[str, str]]) -> str:
    parts: list[str] = []
    if block.get("text"):
        parts.append(f'<div class="bk-text">{text_html(block["text"], names)}</div>')
    fields = block.get("fields") or []
    if fields:
        cells = "".join(f'<div class="bk-field">{text_html(f, names)}</div>' for f in fields)
        parts.append(f'<div class="bk-fields">{cells}</div>')
    accessory = block.get("accessory")
    side = ""
    if isinstance(accessory, dict) and accessory.get("type") != "image":
        side = f'<div class="bk-accessory">{_element(accessory, block, names, users)}</div>'
    return (
        f'<div class="bk-section" data-block-id="{esc(block.get("block_id", ""))}">'
        f'<div class="bk-section-main">{"".join(parts)}</div>{side}</div>'
    )


def _context(block: JSON, names: Names, users: Sequence[tuple[str, str]]) -> str:
    items = [
        f'<span class="bk-context-item">{text_html(e, names)}</span>'
        for e in block.get("elements") or []
        if isinstance(e, dict) and e.get("type") in ("mrkdwn", "plain_text")
    ]
    return f'<div class="bk-context">{"".join(items)}</div>'


def _divider(block: JSON, names: Names, users: Sequence[tuple[str, str]]) -> str:
    return '<hr class="bk-divider">'


def _actions(block: JSON, names: Names, users: Sequence[tuple[str, str]]) -> str:
    elements = "".join(
        _element(e, block, names, users) for e in block.get("elements") or [] if isinstance(e, dict)
    )
    return f'<div class="bk-actions">{elements}</div>'


def _rich_text(block: JSON, names: Names, users: Sequence[tuple[str, str]]) -> str:
    """Rich text as Slack stores what people type: sections of text, links and mentions."""
    out: list[str] = []
    for part in block.get("elements") or []:
        inner = "".join(_rich_piece(p, names) for p in part.get("elements") or [])
        kind = part.get("type")
        if kind == "rich_text_preformatted":
            out.append(f"<pre>{inner}</pre>")
        elif kind == "rich_text_quote":
            out.append(f"<blockquote>{inner}</blockquote>")
        elif kind == "rich_text_list":
            items = "".join(
                "<li>"
                + "".join(_rich_piece(p, names) for p in item.get("elements") or [])
                + "</li>"
                for item in part.get("elements") or []
            )
            out.append(f"<ul>{items}</ul>")
        else:
            out.append(f"<div>{inner}</div>")
    return f'<div class="bk-text">{"".join(out)}</div>'


def _rich_piece(piece: JSON, names: Names) -> str:
    kind = piece.get("type")
    if kind == "text":
        text = plain_to_html(str(piece.get("text", "")))
        style = piece.get("style") or {}
        for key, tag in (("bold", "b"), ("italic", "i"), ("strike", "s"), ("code", "code")):
            if style.get(key):
                text = f"<{tag}>{text}</{tag}>"
        return text
    if kind == "link":
        url = str(piece.get("url", ""))
        shown = plain_to_html(str(piece.get("text") or url))
        return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{shown}</a>'
    if kind == "user":
        return f'<span class="mention">@{esc(names.user(str(piece.get("user_id"))))}</span>'
    if kind == "emoji":
        return esc(
            (piece.get("unicode") and chr(int(str(piece["unicode"]).split("-")[0], 16))) or ""
        )
    return ""


def _input(block: JSON, names: Names, users: Sequence[tuple[str, str]]) -> str:
    element = block.get("element") or {}
    block_id = str(block.get("block_id", ""))
    optional = bool(block.get("optional"))
    label = text_html(block.get("label"), names)
    if optional:
        label += ' <span class="bk-optional">(optional)</span>'
    hint = block.get("hint")
    hint_html = f'<div class="bk-hint">{text_html(hint, names)}</div>' if hint else ""
    return (
        f'<div class="bk-input" data-block-id="{esc(block_id)}" '
        f'data-type="{esc(element.get("type", ""))}" data-optional="{str(optional).lower()}">'
        f'<label class="bk-label">{label}</label>'
        f"{_field(element, block_id, names, users)}"
        f'<div class="bk-error" data-error-for="{esc(block_id)}"></div>{hint_html}</div>'
    )


# ---------------------------------------------------------------- interactive elements


def _element(element: JSON, block: JSON, names: Names, users: Sequence[tuple[str, str]]) -> str:
    """An element of an actions block or a section accessory: clicking it is a block_action."""
    kind = element.get("type")
    action = f'data-action-id="{esc(element.get("action_id", ""))}"'
    if kind == "button":
        style = element.get("style")
        css = "btn" + (f" btn-{esc(style)}" if style in ("primary", "danger") else "")
        url = f' data-url="{esc(element["url"])}"' if element.get("url") else ""
        return (
            f'<button type="button" class="{css} bk-button" {action}{url}>'
            f"{text_html(element.get('text'), names)}</button>"
        )
    name = f'class="bk-select bk-action-select" {action}'
    if kind in ("static_select", "overflow", "radio_buttons"):
        prompt = "⋯" if kind == "overflow" else esc(_label({"text": element.get("placeholder")}))
        options = [(str(o.get("value", "")), esc(_label(o))) for o in _options(element)]
        return _select(name, prompt or "Select…", options, None)
    if kind == "users_select":
        return _select(name, "Select a person", [(u, esc(n)) for u, n in users], None)
    return f'<span class="bk-unsupported">[{esc(kind)}]</span>'


def _options(element: JSON) -> list[JSON]:
    options = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        options += [o for o in group.get("options") or [] if isinstance(o, dict)]
    return options


def _field(element: JSON, block_id: str, names: Names, users: Sequence[tuple[str, str]]) -> str:
    """An input block's element as a form control whose value the script reads on submit."""
    kind = str(element.get("type", ""))
    name = f'class="bk-control" name="{esc(block_id)}"'
    if kind in _TEXT_TYPES:
        return _text_field(kind, element, name)
    if kind == "static_select":
        prompt = esc((element.get("placeholder") or {}).get("text", "Select an option"))
        initial = (element.get("initial_option") or {}).get("value")
        options = [(str(o.get("value", "")), esc(_label(o))) for o in _options(element)]
        return _select(name, prompt, options, initial)
    if kind in ("multi_static_select", "checkboxes"):
        chosen = {o.get("value") for o in element.get("initial_options") or []}
        return _choice_list("checkbox", element, block_id, chosen, names)
    if kind == "radio_buttons":
        chosen = {(element.get("initial_option") or {}).get("value")}
        return _choice_list("radio", element, block_id, chosen, names)
    if kind in _PICKER_TYPES:
        html_type, key = _PICKER_TYPES[kind]
        return f'<input {name} type="{html_type}" value="{esc(element.get(key, ""))}">'
    if kind == "users_select":
        people = [(uid, esc(label)) for uid, label in users]
        return _select(name, "Select a person", people, element.get("initial_user"))
    if kind == "multi_users_select":
        chosen = set(element.get("initial_users") or [])
        items = "".join(
            _choice("checkbox", block_id, uid, esc(label), uid in chosen) for uid, label in users
        )
        return f'<div class="bk-choices bk-multi">{items}</div>'
    if kind in ("conversations_select", "channels_select"):
        initial = element.get("initial_conversation") or element.get("initial_channel")
        channels = [(cid, "#" + esc(n)) for cid, n in names.channels.items()]
        return _select(name, "Select a channel", channels, initial)
    return f'<span class="bk-unsupported">[{esc(kind)}]</span>'


_TEXT_TYPES = {
    "plain_text_input": "text",
    "url_text_input": "url",
    "email_text_input": "email",
    "number_input": "number",
}
_PICKER_TYPES = {"datepicker": ("date", "initial_date"), "timepicker": ("time", "initial_time")}


def _text_field(kind: str, element: JSON, name: str) -> str:
    placeholder = element.get("placeholder")
    ph = (
        f' placeholder="{esc(placeholder.get("text", ""))}"'
        if isinstance(placeholder, dict)
        else ""
    )
    limit = f' maxlength="{int(element["max_length"])}"' if element.get("max_length") else ""
    initial = esc(element.get("initial_value", ""))
    if kind == "plain_text_input" and element.get("multiline"):
        return f'<textarea {name} rows="4"{ph}{limit}>{initial}</textarea>'
    return f'<input {name} type="{_TEXT_TYPES[kind]}" value="{initial}"{ph}{limit}>'


def _label(option: JSON) -> str:
    text = option.get("text")
    return str(text.get("text", "")) if isinstance(text, dict) else ""


def _select(name: str, prompt: str, options: list[tuple[str, str]], chosen: Any) -> str:
    """``options`` are (value, label already escaped)."""
    tags = "".join(
        f'<option value="{esc(value)}"{" selected" if value == chosen else ""}>{label}</option>'
        for value, label in options
    )
    return f'<select {name}><option value="">{prompt}</option>{tags}</select>'


def _choice_list(kind: str, element: JSON, block_id: str, chosen: set[Any], names: Names) -> str:
    items = "".join(
        _choice(
            kind,
            block_id,
            str(o.get("value", "")),
            text_html(o.get("text"), names),
            o.get("value") in chosen,
        )
        for o in _options(element)
    )
    multi = " bk-multi" if element.get("type") == "multi_static_select" else ""
    return f'<div class="bk-choices{multi}">{items}</div>'


def _choice(kind: str, block_id: str, value: str, label: str, checked: bool) -> str:
    mark = " checked" if checked else ""
    return (
        f'<label class="bk-choice"><input type="{kind}" name="{esc(block_id)}" '
        f'value="{esc(value)}"{mark}> <span>{label}</span></label>'
    )


_BLOCKS: dict[str, Callable[[JSON, Names, Sequence[tuple[str, str]]], str]] = {
    "header": _header,
    "section": _section,
    "context": _context,
    "divider": _divider,
    "actions": _actions,
    "rich_text": _rich_text,
    "input": _input,
}
