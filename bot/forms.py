"""Turning a modal's values into a validated model, or into inline errors per block.

Validators raise ``PydanticCustomError`` whose type is a message-catalogue key, so every modal
error is shown in the user's language next to the input it concerns.

Every modal goes through ``parse_form``, so what no field may hold is refused here once: control
characters other than newline, carriage return and tab (a NUL byte cannot be stored in
PostgreSQL at all), and lone surrogates (not text, and not encodable for the database).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
FieldErrors = dict[str, tuple[str, dict[str, object]]]
GENERIC_ERROR = "form.error.invalid"
CONTROL_ERROR = "form.error.control"
# Unicode's control characters (Cc) but \t \n \r, and the surrogate code points.
FORBIDDEN: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def parse_form(
    model: type[M], values: Mapping[str, object], field_block: Mapping[str, str] | None = None
) -> M | FieldErrors:
    """A valid model, or the first error of each block as (message key, params)."""
    blocks = field_block or {}
    errors: FieldErrors = {
        blocks.get(name, name): (CONTROL_ERROR, {})
        for name, value in values.items()
        if has_forbidden_characters(value)
    }
    try:
        parsed = model.model_validate(dict(values))
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            block = blocks.get(name, name)
            key = error["type"] if "." in error["type"] else GENERIC_ERROR
            errors.setdefault(block, (key, dict(error.get("ctx") or {})))
        return errors
    return errors or parsed


def has_forbidden_characters(value: object) -> bool:
    """A typed text (or a list of them, from a multi-select) holding what no field may hold."""
    if isinstance(value, str):
        return FORBIDDEN.search(value) is not None
    if isinstance(value, (list, tuple)):
        return any(has_forbidden_characters(item) for item in value)
    return False
