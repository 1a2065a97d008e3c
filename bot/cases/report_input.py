"""What a report modal submission must contain, validated before anything is stored.

Built from ``bot.forms``' field types, as the steps' modals are; ``FIELD_BLOCK`` names the
modal block of each field whose name differs, so each error shows next to its input.
"""

from __future__ import annotations

from typing import Annotated

from bot.cases.domain import DESCRIPTION_MAX, REQUIREMENTS, TITLE_MAX, Risk, Severity
from bot.forms import Choice, Form, Text, Url, one_of, required, several_of

FIELD_BLOCK = {"system_id": "system", "evidence_url": "evidence"}


class ReportInput(Form):
    """A suspected non-conformity as the reporter described it."""

    system_id: Choice
    title: Annotated[Text, required(TITLE_MAX)]
    description: Annotated[Text, required(DESCRIPTION_MAX)]
    requirements: Annotated[list[str], several_of(REQUIREMENTS)]
    risk: Annotated[Choice, one_of([r.value for r in Risk])]
    severity: Annotated[Choice, one_of([s.value for s in Severity])]
    evidence_url: Url = None
