"""What a report modal submission must contain, validated before anything is stored.

Errors carry message-catalogue keys (pydantic's ``PydanticCustomError`` type) and the block they
belong to, so the modal can show each one inline in the reporter's language.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from bot.domain import DESCRIPTION_MAX, REQUIREMENTS, TITLE_MAX, URL_MAX, Risk, Severity
from bot.forms import FieldErrors, parse_form

FIELD_BLOCK = {"system_id": "system", "evidence_url": "evidence"}


def _text(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


Text = Annotated[str | None, BeforeValidator(_text)]


class ReportInput(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system_id: Text
    title: Text
    description: Text
    requirements: list[str]
    risk: str | None
    severity: str | None
    evidence_url: Text = None

    @field_validator("system_id", "risk", "severity")
    @classmethod
    def _chosen(cls, value: str | None) -> str | None:
        if not value:
            raise PydanticCustomError("report.error.choice", "choose")
        return value

    @field_validator("title", "description")
    @classmethod
    def _filled(cls, value: str | None, info: object) -> str:
        name = getattr(info, "field_name", "")
        limit = TITLE_MAX if name == "title" else DESCRIPTION_MAX
        if not value:
            raise PydanticCustomError("report.error.required", "required")
        if len(value) > limit:
            raise PydanticCustomError("report.error.too_long", "too long", {"count": limit})
        return value

    @field_validator("requirements")
    @classmethod
    def _known_requirements(cls, value: list[str]) -> list[str]:
        if not value:
            raise PydanticCustomError("report.error.choice", "choose")
        if any(item not in REQUIREMENTS for item in value):
            raise PydanticCustomError("report.error.choice", "choose")
        return list(dict.fromkeys(value))

    @field_validator("risk")
    @classmethod
    def _risk(cls, value: str | None) -> str | None:
        if value not in {r.value for r in Risk}:
            raise PydanticCustomError("report.error.choice", "choose")
        return value

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str | None) -> str | None:
        if value not in {s.value for s in Severity}:
            raise PydanticCustomError("report.error.choice", "choose")
        return value

    @field_validator("evidence_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if len(value) > URL_MAX:
            raise PydanticCustomError("report.error.too_long", "too long", {"count": URL_MAX})
        if not value.lower().startswith(("http://", "https://")) or any(c.isspace() for c in value):
            raise PydanticCustomError("report.error.url", "url")
        return value


def parse_report(values: dict[str, object]) -> ReportInput | FieldErrors:
    return parse_form(ReportInput, values, FIELD_BLOCK)
