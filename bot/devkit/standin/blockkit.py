"""Block Kit limit validation, as Slack applies it when a message or view is sent.

Pure functions so tests can call them directly, and so the stand-in refuses what Slack refuses:
a stand-in that accepts any blocks lets a bot ship a message Slack would reject in production.
Errors use Slack's own wording style: ``[ERROR] <what> [json-pointer:/blocks/0/text/text]``.
"""

from __future__ import annotations

import re
from typing import Any

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_MAX = 40_000

MESSAGE_BLOCK_TYPES = frozenset(
    {"section", "header", "context", "divider", "actions", "image", "rich_text", "file"}
)
VIEW_BLOCK_TYPES = MESSAGE_BLOCK_TYPES | {"input"}
ELEMENT_TYPES = frozenset(
    {
        "button",
        "static_select",
        "multi_static_select",
        "users_select",
        "multi_users_select",
        "conversations_select",
        "channels_select",
        "radio_buttons",
        "checkboxes",
        "datepicker",
        "timepicker",
        "datetimepicker",
        "plain_text_input",
        "url_text_input",
        "email_text_input",
        "number_input",
        "overflow",
        "image",
    }
)
# Elements an input block can hold (buttons, overflow menus and images cannot).
INPUT_ELEMENT_TYPES = ELEMENT_TYPES - {"button", "overflow", "image"}
# Elements an actions block can hold.
ACTIONS_ELEMENT_TYPES = ELEMENT_TYPES - {"image"}
OPTION_LIMITS = {
    "static_select": 100,
    "multi_static_select": 100,
    "checkboxes": 10,
    "radio_buttons": 10,
    "overflow": 5,
}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


class _Checker:
    """Collects errors while walking one message or view."""

    def __init__(self, *, in_view: bool) -> None:
        self.in_view = in_view
        self.errors: list[str] = []
        self.block_ids: set[str] = set()

    def err(self, pointer: str, what: str) -> None:
        self.errors.append(f"[ERROR] {what} [json-pointer:{pointer}]")

    def max_len(self, pointer: str, value: Any, limit: int) -> None:
        if isinstance(value, str) and len(value) > limit:
            self.err(pointer, f"must be less than {limit + 1} characters")

    def text(
        self,
        obj: Any,
        pointer: str,
        *,
        limit: int | None = None,
        plain_only: bool = False,
    ) -> None:
        if not isinstance(obj, dict):
            self.err(pointer, "must be a text object")
            return
        kind = obj.get("type")
        if kind not in ("plain_text", "mrkdwn"):
            self.err(f"{pointer}/type", "must be one of plain_text, mrkdwn")
            return
        if plain_only and kind != "plain_text":
            self.err(f"{pointer}/type", "must be plain_text")
        value = obj.get("text")
        if not isinstance(value, str) or value == "":
            self.err(f"{pointer}/text", "must be more than 0 characters")
        elif limit is not None:
            self.max_len(f"{pointer}/text", value, limit)
        if "emoji" in obj and kind != "plain_text":
            self.err(f"{pointer}/emoji", "emoji is only allowed on plain_text")
        if "verbatim" in obj and kind != "mrkdwn":
            self.err(f"{pointer}/verbatim", "verbatim is only allowed on mrkdwn")

    def option(self, obj: Any, pointer: str, *, plain_only: bool) -> str | None:
        if not isinstance(obj, dict):
            self.err(pointer, "must be an option object")
            return None
        self.text(obj.get("text"), f"{pointer}/text", limit=75, plain_only=plain_only)
        value = obj.get("value")
        if not isinstance(value, str) or value == "":
            self.err(f"{pointer}/value", "must be more than 0 characters")
            value = None
        else:
            self.max_len(f"{pointer}/value", value, 150)
        if "description" in obj:
            self.text(obj["description"], f"{pointer}/description", limit=75)
        if "url" in obj:
            self.max_len(f"{pointer}/url", obj["url"], 3000)
        return value

    def options(self, element: dict[str, Any], pointer: str, kind: str) -> set[str]:
        limit = OPTION_LIMITS.get(kind, 100)
        plain_only = kind in ("static_select", "multi_static_select", "overflow")
        values: set[str] = set()
        options = element.get("options")
        groups = element.get("option_groups")
        if options is None and groups is None:
            if kind in OPTION_LIMITS:
                self.err(f"{pointer}/options", "must provide options or option_groups")
            return values
        flat: list[tuple[str, Any]] = []
        if options is not None:
            if not isinstance(options, list) or not options:
                self.err(f"{pointer}/options", "must be a non-empty array")
            else:
                flat += [(f"{pointer}/options/{i}", o) for i, o in enumerate(options)]
        if groups is not None:
            if not isinstance(groups, list) or not groups:
                self.err(f"{pointer}/option_groups", "must be a non-empty array")
            else:
                for g, group in enumerate(groups):
                    gp = f"{pointer}/option_groups/{g}"
                    if not isinstance(group, dict):
                        self.err(gp, "must be an option group")
                        continue
                    self.text(group.get("label"), f"{gp}/label", limit=75, plain_only=True)
                    opts = group.get("options")
                    if not isinstance(opts, list) or not opts:
                        self.err(f"{gp}/options", "must be a non-empty array")
                        continue
                    flat += [(f"{gp}/options/{i}", o) for i, o in enumerate(opts)]
        if len(flat) > limit:
            self.err(f"{pointer}/options", f"must provide at most {limit} items")
        if kind == "overflow" and len(flat) < 2:
            self.err(f"{pointer}/options", "must provide at least 2 items")
        for op, opt in flat:
            value = self.option(opt, op, plain_only=plain_only)
            if value is not None:
                values.add(value)
        return values

    def element(self, element: Any, pointer: str, allowed: frozenset[str], ids: set[str]) -> None:
        if not isinstance(element, dict):
            self.err(pointer, "must be an element object")
            return
        kind = element.get("type")
        if kind not in ELEMENT_TYPES:
            self.err(f"{pointer}/type", f"unsupported element type: {kind}")
            return
        if kind not in allowed:
            self.err(f"{pointer}/type", f"element type {kind} is not allowed here")
        action_id = element.get("action_id")
        if action_id is not None:
            if not isinstance(action_id, str) or action_id == "":
                self.err(f"{pointer}/action_id", "must be a non-empty string")
            else:
                self.max_len(f"{pointer}/action_id", action_id, 255)
                if action_id in ids:
                    self.err(f"{pointer}/action_id", f"action_id {action_id!r} is not unique")
                ids.add(action_id)
        if "placeholder" in element:
            self.text(element["placeholder"], f"{pointer}/placeholder", limit=150, plain_only=True)
        if "confirm" in element:
            self._confirm(element["confirm"], f"{pointer}/confirm")
        if kind == "button":
            self.text(element.get("text"), f"{pointer}/text", limit=75, plain_only=True)
            self.max_len(f"{pointer}/value", element.get("value"), 2000)
            self.max_len(f"{pointer}/url", element.get("url"), 3000)
            if "style" in element and element["style"] not in ("primary", "danger"):
                self.err(f"{pointer}/style", "must be one of primary, danger")
        elif kind == "image":
            self._image(element, pointer)
        elif kind in OPTION_LIMITS:
            values = self.options(element, pointer, kind)
            initial = element.get("initial_option")
            if isinstance(initial, dict) and initial.get("value") not in values:
                self.err(f"{pointer}/initial_option", "must match one of the options")
            for i, opt in enumerate(element.get("initial_options") or []):
                if not isinstance(opt, dict) or opt.get("value") not in values:
                    self.err(f"{pointer}/initial_options/{i}", "must match one of the options")
        elif kind == "plain_text_input":
            self._plain_text_input(element, pointer)
        elif kind == "number_input":
            if not isinstance(element.get("is_decimal_allowed"), bool):
                self.err(f"{pointer}/is_decimal_allowed", "is required and must be a boolean")
        elif kind == "datepicker":
            initial_date = element.get("initial_date")
            if initial_date is not None and not _DATE.match(str(initial_date)):
                self.err(f"{pointer}/initial_date", "must be YYYY-MM-DD")
        elif kind == "timepicker":
            initial_time = element.get("initial_time")
            if initial_time is not None and not _TIME.match(str(initial_time)):
                self.err(f"{pointer}/initial_time", "must be HH:mm")

    def _plain_text_input(self, element: dict[str, Any], pointer: str) -> None:
        max_length = element.get("max_length")
        min_length = element.get("min_length")
        if max_length is not None and (not isinstance(max_length, int) or max_length > 3000):
            self.err(f"{pointer}/max_length", "must be an integer up to 3000")
            max_length = 3000
        if min_length is not None and (not isinstance(min_length, int) or min_length > 3000):
            self.err(f"{pointer}/min_length", "must be an integer up to 3000")
        initial = element.get("initial_value")
        if isinstance(initial, str):
            limit = max_length if isinstance(max_length, int) else 3000
            self.max_len(f"{pointer}/initial_value", initial, limit)

    def _image(self, obj: dict[str, Any], pointer: str) -> None:
        if "image_url" not in obj and "slack_file" not in obj:
            self.err(f"{pointer}/image_url", "must provide image_url or slack_file")
        self.max_len(f"{pointer}/image_url", obj.get("image_url"), 3000)
        alt = obj.get("alt_text")
        if not isinstance(alt, str) or alt == "":
            self.err(f"{pointer}/alt_text", "must be more than 0 characters")
        else:
            self.max_len(f"{pointer}/alt_text", alt, 2000)

    def _confirm(self, obj: Any, pointer: str) -> None:
        if not isinstance(obj, dict):
            self.err(pointer, "must be a confirmation dialog object")
            return
        self.text(obj.get("title"), f"{pointer}/title", limit=100, plain_only=True)
        self.text(obj.get("text"), f"{pointer}/text", limit=300)
        self.text(obj.get("confirm"), f"{pointer}/confirm", limit=30, plain_only=True)
        self.text(obj.get("deny"), f"{pointer}/deny", limit=30, plain_only=True)

    def block(self, block: Any, pointer: str) -> None:
        if not isinstance(block, dict):
            self.err(pointer, "must be a block object")
            return
        kind = block.get("type")
        allowed_blocks = VIEW_BLOCK_TYPES if self.in_view else MESSAGE_BLOCK_TYPES
        if kind not in allowed_blocks:
            where = "views" if self.in_view else "messages"
            self.err(f"{pointer}/type", f"unsupported type: {kind} (not allowed in {where})")
            return
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or block_id == "":
                self.err(f"{pointer}/block_id", "must be a non-empty string")
            else:
                self.max_len(f"{pointer}/block_id", block_id, 255)
                if block_id in self.block_ids:
                    self.err(f"{pointer}/block_id", f"block_id {block_id!r} is not unique")
                self.block_ids.add(block_id)
        ids: set[str] = set()  # action_id must be unique within its block
        if kind == "section":
            self._section(block, pointer, ids)
        elif kind == "header":
            self.text(block.get("text"), f"{pointer}/text", limit=150, plain_only=True)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.err(f"{pointer}/elements", "must be a non-empty array")
                return
            if len(elements) > 10:
                self.err(f"{pointer}/elements", "must provide at most 10 items")
            for i, el in enumerate(elements):
                ep = f"{pointer}/elements/{i}"
                if isinstance(el, dict) and el.get("type") == "image":
                    self._image(el, ep)
                else:
                    self.text(el, ep)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                self.err(f"{pointer}/elements", "must be a non-empty array")
                return
            if len(elements) > 25:
                self.err(f"{pointer}/elements", "must provide at most 25 items")
            for i, el in enumerate(elements):
                self.element(el, f"{pointer}/elements/{i}", ACTIONS_ELEMENT_TYPES, ids)
        elif kind == "input":
            self.text(block.get("label"), f"{pointer}/label", limit=2000, plain_only=True)
            if "hint" in block:
                self.text(block["hint"], f"{pointer}/hint", limit=2000, plain_only=True)
            if "element" not in block:
                self.err(f"{pointer}/element", "is required")
            else:
                self.element(block["element"], f"{pointer}/element", INPUT_ELEMENT_TYPES, ids)
        elif kind == "image":
            self._image(block, pointer)
            if "title" in block:
                self.text(block["title"], f"{pointer}/title", limit=2000, plain_only=True)
        elif kind == "rich_text":
            if not isinstance(block.get("elements"), list):
                self.err(f"{pointer}/elements", "must be an array")
        elif kind == "file":
            if not block.get("external_id"):
                self.err(f"{pointer}/external_id", "is required")
            if block.get("source") != "remote":
                self.err(f"{pointer}/source", "must be remote")

    def _section(self, block: dict[str, Any], pointer: str, ids: set[str]) -> None:
        if "text" not in block and "fields" not in block:
            self.err(pointer, "must provide text or fields")
        if "text" in block:
            self.text(block["text"], f"{pointer}/text", limit=3000)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not fields:
                self.err(f"{pointer}/fields", "must be a non-empty array")
            else:
                if len(fields) > 10:
                    self.err(f"{pointer}/fields", "must provide at most 10 items")
                for i, field in enumerate(fields):
                    self.text(field, f"{pointer}/fields/{i}", limit=2000)
        if "accessory" in block:
            self.element(block["accessory"], f"{pointer}/accessory", ELEMENT_TYPES, ids)

    def blocks(self, blocks: Any, limit: int) -> None:
        if not isinstance(blocks, list):
            self.err("/blocks", "must be an array")
            return
        if len(blocks) > limit:
            self.err("/blocks", f"must provide at most {limit} items")
        for i, block in enumerate(blocks):
            self.block(block, f"/blocks/{i}")


def validate_message_blocks(blocks: Any) -> list[str]:
    """Errors Slack would report for ``blocks`` of chat.postMessage/update; empty when valid."""
    checker = _Checker(in_view=False)
    checker.blocks(blocks, MESSAGE_MAX_BLOCKS)
    return checker.errors


def validate_view(view: Any) -> list[str]:
    """Errors Slack would report for a modal or Home tab view; empty when valid."""
    checker = _Checker(in_view=True)
    if not isinstance(view, dict):
        return ["[ERROR] must be a view object [json-pointer:/view]"]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.err("/view/type", "must be one of modal, home")
    if kind == "modal" or "title" in view:
        checker.text(view.get("title"), "/view/title", limit=24, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            checker.text(view[key], f"/view/{key}", limit=24, plain_only=True)
    checker.max_len("/view/private_metadata", view.get("private_metadata"), 3000)
    checker.max_len("/view/callback_id", view.get("callback_id"), 255)
    checker.max_len("/view/external_id", view.get("external_id"), 255)
    blocks = view.get("blocks")
    checker.blocks(blocks, VIEW_MAX_BLOCKS)
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if kind == "modal" and has_input and "submit" not in view:
        checker.err("/view/submit", "must provide submit when the view contains input blocks")
    return checker.errors
