"""Signed payloads that we did not build as they arrive (issue 15, item 5): a case that is not a
number, a list where an object belongs, a number beyond the database's integer, JSON that does
not parse. Each gets a clear refusal, one warning line and no traceback, and changes nothing —
no event, no outbox row, not the case, not the thread."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.devkit.local import LocalBot
from bot.messages import t
from bot.ops.workspace import Workspace
from handlers.payloads import MALFORMED
from storage.models import CaseEvent, OutboxMessage
from tests.scenarios import (
    OFFICER,
    guided_workspace,
    open_step_modal,
    refused,
    snapshot,
    walk_to,
)

REASON = "The drift is within the accuracy range declared in the instructions for use."


@pytest.fixture
def workspace() -> Workspace:
    return guided_workspace()


def effects(bot: LocalBot) -> tuple[Any, ...]:
    """Everything a request could have changed: the case and its thread, every event, every
    message queued for Slack."""
    with bot.services.db.transaction() as session:
        events = session.scalar(select(func.count()).select_from(CaseEvent))
        queued = session.scalar(select(func.count()).select_from(OutboxMessage))
    return snapshot(bot), events, queued


def assert_one_warning(caplog: pytest.LogCaptureFixture, part: str) -> None:
    """One warning, ours, naming the part that could not be read; no error, no traceback."""
    for record in caplog.records:
        assert record.exc_info is None, f"a traceback from {record.name}"
    shown = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.getMessage()) for r in shown] == [
        ("ncbot.pipeline", "malformed payload refused")
    ]
    assert shown[0].__dict__["part"] == part


def submit_tampered(
    bot: LocalBot, caplog: pytest.LogCaptureFixture, **tampering: Any
) -> dict[str, Any]:
    """Open "Not a non-conformity", fill it in properly, and submit it signed but changed on
    the way; return Slack's answer, after checking that nothing changed."""
    walk_to(bot, "acknowledged")
    view = open_step_modal(bot, "case_dismiss", OFFICER)
    before = effects(bot)
    caplog.clear()
    caplog.set_level(logging.INFO)
    response = bot.driver.submit(view["id"], user=OFFICER, values={"reason": REASON}, **tampering)
    assert response.status == 200, response.body
    assert effects(bot) == before, "a malformed submission changed something"
    answer: dict[str, Any] = response.json()
    return answer


def malformed_inline(bot: LocalBot) -> dict[str, Any]:
    """The refusal as Slack shows it: under the modal's input, the modal stays open."""
    return {"response_action": "errors", "errors": {"reason": t(MALFORMED, bot.services.lang)}}


def test_a_modal_whose_case_is_not_a_number_is_refused_inline(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    answer = submit_tampered(bot, caplog, private_metadata='{"case": "abc", "version": 1}')
    assert answer == malformed_inline(bot)
    assert_one_warning(caplog, "private_metadata")


def test_a_list_where_the_modal_metadata_object_belongs_is_refused_inline(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    answer = submit_tampered(bot, caplog, private_metadata="[1, 1]")
    assert answer == malformed_inline(bot)
    assert_one_warning(caplog, "private_metadata")


def test_a_list_where_a_field_object_belongs_in_the_modal_values_is_refused_inline(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    answer = submit_tampered(bot, caplog, extra_state={"reason": ["not", "an", "object"]})
    assert answer == malformed_inline(bot)
    assert_one_warning(caplog, "state.values")


def test_garbage_json_in_the_modal_metadata_is_refused_inline(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    answer = submit_tampered(bot, caplog, private_metadata='{"case": 1, "vers')
    assert answer == malformed_inline(bot)
    assert_one_warning(caplog, "private_metadata")


def test_a_button_value_beyond_the_database_integer_is_refused_ephemerally(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    walk_to(bot, "reported")
    before = effects(bot)
    caplog.clear()
    caplog.set_level(logging.INFO)
    text = refused(bot, "case_acknowledge", OFFICER, value="99999999999999999999:1")
    assert text == t(MALFORMED, bot.services.lang)
    assert effects(bot) == before
    assert_one_warning(caplog, "button value")
