"""Turning a modal's values into a validated model, or into inline errors per block.

Validators raise ``PydanticCustomError`` whose type is a message-catalogue key, so every modal
error is shown in the user's language next to the input it concerns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)
FieldErrors = dict[str, tuple[str, dict[str, object]]]
GENERIC_ERROR = "form.error.invalid"


def parse_form(
    model: type[M], values: Mapping[str, object], field_block: Mapping[str, str] | None = None
) -> M | FieldErrors:
    """A valid model, or the first error of each block as (message key, params)."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        errors: FieldErrors = {}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            block = (field_block or {}).get(name, name)
            key = error["type"] if "." in error["type"] else GENERIC_ERROR
            errors.setdefault(block, (key, dict(error.get("ctx") or {})))
        return errors
