"""A NUL byte, or another control character but newline, carriage return and tab, in any modal's
text is answered inline on its field and nothing is stored.

On PostgreSQL a NUL cannot be stored at all: a report holding one was answered "the database did
not answer, submit again" — forever. Every modal's submission goes through ``parse_form``, so the
rule lives there once; the unit tests below cover every form model there is, and the end-to-end
ones run a report and a step on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from bot.cases.inputs import Assessment as AssessmentForm
from bot.cases.inputs import (
    AwarenessCorrection,
    DoneEvidence,
    Informed,
    Investigation,
    MeasurePlan,
    Reasoned,
    Reassignment,
    RecordedReceipt,
    Sent,
    SeverityChange,
    TargetDateChange,
)
from bot.cases.report_input import FIELD_BLOCK, ReportInput
from bot.devkit.local import LocalBot
from bot.forms import CONTROL_ERROR, Form, parse_form
from bot.messages import t
from tests.e2e.test_report_validation import NOTHING, open_report, stored
from tests.scenarios import (
    ASSESSMENT,
    DONE_EVIDENCE,
    FINDINGS,
    GOOD_REPORT,
    MEASURE_PLAN,
    OFFICER,
    REPORTER,
    SENT,
    TRIAGE,
    case_card,
    case_row,
    click_step,
    open_step_modal,
    report,
    settle,
    thread_replies,
    wait_for,
)

REPORT_FIELDS = {
    "system_id": "credit-scoring",
    "title": "Scores drift",
    "description": "Approval rates dropped.",
    "requirements": ["art10"],
    "risk": "yes",
    "severity": "high",
    "evidence_url": "https://example.com/e/42",
}
VALID: dict[type[BaseModel], dict[str, Any]] = {
    ReportInput: REPORT_FIELDS,
    AssessmentForm: ASSESSMENT,
    Reasoned: {"reason": "Not our system."},
    MeasurePlan: {**MEASURE_PLAN, "measure": "withdraw", "partner_ask": "Remove 2.3."},
    DoneEvidence: DONE_EVIDENCE,
    Investigation: FINDINGS,
    Sent: SENT,
    Informed: {**SENT, "choice": "other"},
    AwarenessCorrection: {"aware_on": "2026-11-28", "reason": "The first e-mail was earlier."},
    # the card's Change… menu (issue 20)
    SeverityChange: {"severity": "critical", "reason": "Worse than reported."},
    Reassignment: {"whose": "case", "owner": OFFICER, "reason": "Holiday.", "measure": "1"},
    TargetDateChange: {"target_date": "2026-12-20", "reason": "Supplier late.", "measure": "1"},
    # Record receipt, for a notice read outside Slack (issue 17)
    RecordedReceipt: {
        "notice": "1",
        "received_by": "compliance@eu-import.example",
        "how": "Reply to our e-mail",
        "on": "2026-11-29",
        "at": "10:30",
    },
}
FORBIDDEN = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\ud800"]
ALLOWED = "First line\r\nsecond line\tand a tab"


def test_every_modal_form_is_covered_here() -> None:
    """A form added later gets its valid values here, and with them these tests."""
    assert set(VALID) == set(Form.__subclasses__())


def text_fields(values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if isinstance(value, str | list)]


@pytest.mark.parametrize(
    ("model", "field"),
    [(model, field) for model, values in VALID.items() for field in text_fields(values)],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_a_nul_byte_in_any_field_of_any_modal_is_an_inline_error_on_that_field(
    model: type[BaseModel], field: str
) -> None:
    values = dict(VALID[model])
    assert isinstance(parse_form(model, values), model), "the sample values must be valid"
    value = values[field]
    values[field] = [f"{value[0]}\x00"] if isinstance(value, list) else f"{value}\x00tail"
    errors = parse_form(model, values, FIELD_BLOCK if model is ReportInput else None)
    block = FIELD_BLOCK.get(field, field) if model is ReportInput else field
    assert isinstance(errors, dict)
    assert errors[block] == (CONTROL_ERROR, {})


@pytest.mark.parametrize("char", FORBIDDEN, ids=lambda c: f"U+{ord(c):04X}")
def test_each_control_character_is_refused(char: str) -> None:
    errors = parse_form(Reasoned, {"reason": f"Not{char}ours"})
    assert errors == {"reason": (CONTROL_ERROR, {})}


def test_newline_carriage_return_and_tab_are_text() -> None:
    parsed = parse_form(Reasoned, {"reason": ALLOWED})
    assert isinstance(parsed, Reasoned) and parsed.reason == ALLOWED


def test_the_error_is_said_in_each_language() -> None:
    assert "control characters" in t(CONTROL_ERROR, "en")
    assert "stuurtekens" in t(CONTROL_ERROR, "nl")


@pytest.mark.parametrize(
    ("block", "value"),
    [
        ("title", "Scores\x00drift"),
        ("description", "Approval rates\x00 dropped."),
        ("description", "An escape \x1b[31m in red"),
        ("evidence", "https://example.com/e/\x0042"),
    ],
    ids=["nul-title", "nul-description", "escape-description", "nul-evidence"],
)
def test_a_nul_byte_in_a_report_is_an_inline_error_not_a_database_failure(
    any_db_bot: LocalBot, block: str, value: str
) -> None:
    bot = any_db_bot
    view = open_report(bot)
    response = bot.driver.submit(view["id"], user=REPORTER, values={**GOOD_REPORT, block: value})
    assert response.status == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {block: t(CONTROL_ERROR)},
    }
    assert bot.driver.submissions[-1].errors == []  # Slack accepts the answer
    assert stored(bot) == NOTHING

    # Not forever: the same modal, corrected, is stored as NC-1 (newlines and tabs are text).
    fixed = bot.driver.submit(
        view["id"], user=REPORTER, values={**GOOD_REPORT, "description": ALLOWED}
    )
    assert fixed.status == 200 and fixed.body.strip() == b""
    wait_for(lambda: bot.standin.messages(TRIAGE), what="the card")
    assert case_row(bot).description == ALLOWED


def test_a_nul_byte_in_a_step_modal_is_an_inline_error_and_changes_nothing(
    any_db_bot: LocalBot,
) -> None:
    bot = any_db_bot
    assert report(bot).status == 200
    case_card(bot)
    wait_for(lambda: thread_replies(bot), what="the first step")
    settle(bot)
    click_step(bot, "case_acknowledge", OFFICER)
    wait_for(lambda: case_row(bot).state == "acknowledged", what="the acknowledgement")
    settle(bot)
    before = case_row(bot).version

    view = open_step_modal(bot, "case_confirm", OFFICER)
    values = {**ASSESSMENT, "nature": "Scores\x00 drift"}
    response = bot.driver.submit(view["id"], user=OFFICER, values=values)
    assert response.json() == {"response_action": "errors", "errors": {"nature": t(CONTROL_ERROR)}}
    assert bot.driver.submissions[-1].errors == []
    assert (case_row(bot).state, case_row(bot).version) == ("acknowledged", before)

    fixed = bot.driver.submit(view["id"], user=OFFICER, values=ASSESSMENT)
    assert (fixed.status, fixed.body) == (200, b"")
    wait_for(lambda: case_row(bot).state == "confirmed", what="the confirmation")
