"""What each step's modal must contain, validated before a transition is attempted."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from bot.domain import DESCRIPTION_MAX, REASON_MAX, URL_MAX, Measure, SeriousIncident


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _required(limit: int) -> AfterValidator:
    def check(value: str | None) -> str:
        if not value:
            raise PydanticCustomError("report.error.required", "required")
        if len(value) > limit:
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


Text = Annotated[str | None, BeforeValidator(_strip)]
Reason = Annotated[Text, _required(REASON_MAX)]
LongText = Annotated[Text, _required(DESCRIPTION_MAX)]
Url = Annotated[Text, AfterValidator(_optional_url)]
Choice = Annotated[str, BeforeValidator(_chosen)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Assessment(_Form):
    """Step 2: why this is (or is not) a non-conformity, and whether Art. 79(1) / 73 apply."""

    nature: LongText
    causal_link: LongText
    risk: Annotated[Choice, AfterValidator(lambda v: _one_of(v, ("yes", "no")))]
    serious_incident: Annotated[
        Choice, AfterValidator(lambda v: _one_of(v, tuple(s.value for s in SeriousIncident)))
    ]
    aware_on: Annotated[date | None, BeforeValidator(_chosen)]


class Reasoned(_Form):
    """Not a non-conformity, Reject, Reopen and waivers: a decision that must say why."""

    reason: Reason


class MeasurePlan(_Form):
    """Step 3: the corrective action, its owner and its timing."""

    measure: Annotated[
        Choice, AfterValidator(lambda v: _one_of(v, tuple(m.value for m in Measure)))
    ]
    plan: LongText
    owner: Choice
    target_date: Annotated[date | None, BeforeValidator(_chosen)]
    affected: Annotated[Text, _required(500)]
    keeps_running: Annotated[Choice, AfterValidator(lambda v: _one_of(v, ("yes", "no")))]
    art73_6: list[str] = []  # the serious-incident warning's checkbox, where it was shown


class DoneEvidence(_Form):
    """Step 5: proof that the measure was carried out."""

    evidence: LongText
    link: Url = None


def _one_of(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise PydanticCustomError("report.error.choice", "choose")
    return value


class Investigation(_Form):
    """Art. 20(2): what was found about the causes, and with whom."""

    findings: LongText
    how: Annotated[Text, AfterValidator(lambda v: v or None)] = None


class Sent(_Form):
    """An authority informed, or an Art. 73 report made: when, how, under which reference."""

    on: Annotated[date | None, BeforeValidator(_chosen)]
    how: Annotated[Text, _required(500)]
    reference: Annotated[Text, AfterValidator(lambda v: v or None)] = None


class AwarenessCorrection(_Form):
    aware_on: Annotated[date | None, BeforeValidator(_chosen)]
    reason: Reason
