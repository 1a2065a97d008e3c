"""Reading a submitted modal's ``state.values`` into plain values, one per input block."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from bot.forms import FieldErrors
from bot.messages import t
from bot.views import ids


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """``{block_id: value}`` for every input the view holds; an untouched input reads as None."""
    values: dict[str, Any] = {}
    for block_id, actions in (view.get("state", {}).get("values") or {}).items():
        element: dict[str, Any] = actions.get(ids.INPUT_ACTION) or next(iter(actions.values()), {})
        values[block_id] = element_value(element or {})
    return values


def element_value(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("static_select", "radio_buttons", "external_select"):
        option = element.get("selected_option")
        return option.get("value") if option else None
    if kind in ("multi_static_select", "checkboxes"):
        return [o.get("value") for o in element.get("selected_options") or []]
    if kind == "users_select":
        return element.get("selected_user")
    if kind == "multi_users_select":
        return element.get("selected_users") or []
    if kind == "datepicker":
        return element.get("selected_date")
    return element.get("value")


def private_metadata(view: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def inline_errors(errors: FieldErrors, lang: str) -> dict[str, str]:
    """Field errors as the text Slack shows under each input (``response_action: errors``)."""
    return {block: t(key, lang, **params) for block, (key, params) in errors.items()}


def as_int(value: object) -> int:
    """A number from a button value or private_metadata; 0 (no such case) when it is not one."""
    try:
        return int(str(value))
    except ValueError:
        return 0


def as_date(value: object) -> date | None:
    """An ISO date from private_metadata; None when it is not one."""
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None
