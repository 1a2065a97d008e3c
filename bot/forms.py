"""The one way to validate a form: a modal's values into a validated model, or into inline
errors per block.

Validators raise ``PydanticCustomError`` whose type is a message-catalogue key, so every modal
error is shown in the user's language next to the input it concerns. The field types below
(``Text``, ``required``, ``Url``, ``Choice``, ``one_of``, ``several_of``) are what every form
model is built from — the report (``bot.report_input``) and the steps and duties
(``bot.step_inputs``) alike — so a rule is written once.

Every modal goes through ``parse_form``, so what no field may hold is refused here once: control
characters other than newline, carriage return and tab (a NUL byte cannot be stored in
PostgreSQL at all), and lone surrogates (not text, and not encodable for the database).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import date
from typing import Annotated, Final, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from bot.cases.domain import URL_MAX

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


class Form(BaseModel):
    """A modal's values: nothing but the declared fields, and never changed once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def required(limit: int) -> AfterValidator:
    """Typed text that must be there, and at most ``limit`` characters."""

    def check(value: str | None) -> str:
        if not value:
            raise PydanticCustomError("report.error.required", "required")
        if len(value) > limit:
            raise PydanticCustomError("report.error.too_long", "too long", {"count": limit})
        return value

    return AfterValidator(check)


def at_most(limit: int) -> AfterValidator:
    """Optional typed text of at most ``limit`` characters."""

    def check(value: str | None) -> str | None:
        if value and len(value) > limit:
            raise PydanticCustomError("report.error.too_long", "too long", {"count": limit})
        return value

    return AfterValidator(check)


def _optional_url(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > URL_MAX:
        raise PydanticCustomError("report.error.too_long", "too long", {"count": URL_MAX})
    if not value.lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
        raise PydanticCustomError("report.error.url", "url")
    return value


def _chosen(value: object) -> object:
    if value in (None, ""):
        raise PydanticCustomError("report.error.choice", "choose")
    return value


def one_of(allowed: Collection[str]) -> AfterValidator:
    """A choice among ``allowed`` (a select or radio buttons whose options we built)."""
    options = frozenset(allowed)

    def check(value: str) -> str:
        if value not in options:
            raise PydanticCustomError("report.error.choice", "choose")
        return value

    return AfterValidator(check)


def several_of(allowed: Collection[str]) -> AfterValidator:
    """At least one choice among ``allowed`` (checkboxes, a multi-select), each once."""
    options = frozenset(allowed)

    def check(values: list[str]) -> list[str]:
        if not values or any(item not in options for item in values):
            raise PydanticCustomError("report.error.choice", "choose")
        return list(dict.fromkeys(values))

    return AfterValidator(check)


def any_of(allowed: Collection[str]) -> AfterValidator:
    """Any number of choices among ``allowed``, none included (an optional multi-select)."""
    options = frozenset(allowed)

    def check(values: list[str]) -> list[str]:
        if any(item not in options for item in values):
            raise PydanticCustomError("report.error.choice", "choose")
        return list(dict.fromkeys(values))

    return AfterValidator(check)


def count_up_to(limit: int) -> BeforeValidator:
    """A whole number from 0 to ``limit``, or nothing: what a ``number_input`` sends is text,
    and a number the browser let through (``1e3``, ``-1``, ``2.5``) is refused here."""

    def check(value: object) -> int | None:
        if value in (None, ""):
            return None
        text = str(value).strip()
        if not text.isascii() or not text.isdigit() or int(text) > limit:
            raise PydanticCustomError("form.error.count", "count", {"count": limit})
        return int(text)

    return BeforeValidator(check)


def _none_if_empty(value: str | None) -> str | None:
    return value or None


Text = Annotated[str | None, BeforeValidator(_strip)]
OptionalText = Annotated[Text, AfterValidator(_none_if_empty)]
Url = Annotated[Text, AfterValidator(_optional_url)]
Choice = Annotated[str, BeforeValidator(_chosen)]
ChosenDate = Annotated[date | None, BeforeValidator(_chosen)]
OptionalDate = Annotated[date | None, BeforeValidator(lambda v: v or None)]
