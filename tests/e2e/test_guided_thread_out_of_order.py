"""Out-of-order clicks: old buttons in the thread, a second approver after the first, a modal
submitted after the case moved on. Each gets an explanation and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from bot.devkit.local import LocalBot
from bot.devkit.standin.driver import find_element
from bot.ops.workspace import Workspace
from tests.scenarios import (
    APPROVER,
    APPROVER2,
    ASSESSMENT,
    OFFICER,
    OFFICER2,
    case_row,
    current_measure,
    decide,
    event_kinds,
    guided_workspace,
    last_step_message,
    open_step_modal,
    refused,
    snapshot,
    thread_replies,
    walk_to,
)


@pytest.fixture
def workspace() -> Workspace:
    """Systems without partners: nothing but the guided thread stands between Done and Close."""
    return guided_workspace()


def button_value(message: Any, action_id: str) -> str:
    found = find_element(message.blocks or [], action_id)
    assert found is not None, f"no {action_id} in {message.blocks}"
    return str(found[1]["value"])


def test_an_old_acknowledge_button_is_explained_and_changes_nothing(bot: LocalBot) -> None:
    walk_to(bot, "confirmed")
    first_step = thread_replies(bot)[0]
    assert find_element(first_step.blocks, "case_acknowledge") is None  # replaced after use
    text = refused(bot, "case_acknowledge", OFFICER2, message=first_step, force=True, value="1:1")
    assert text.startswith("This button belongs to an earlier step of NC-1")
    assert "Non-conformity confirmed" in text
    assert case_row(bot).owner_id == OFFICER


def test_a_button_for_a_step_the_case_has_left_is_explained(bot: LocalBot) -> None:
    """Even carrying the current version, Acknowledge on a confirmed case is no longer possible."""
    walk_to(bot, "confirmed")
    current = button_value(last_step_message(bot), "measure_choose_withdraw")
    text = refused(bot, "case_acknowledge", OFFICER2, force=True, value=current)
    assert text.startswith("This step is no longer possible")


def test_a_second_approver_after_the_first_is_told_and_one_approval_stays(bot: LocalBot) -> None:
    walk_to(bot, "measure_proposed")
    asked = last_step_message(bot)
    shown_value = button_value(asked, "measure_approve")
    decide(bot, "measure_approve", APPROVER)

    text = refused(bot, "measure_approve", APPROVER2, message=asked, force=True, value=shown_value)
    assert text.startswith("This button belongs to an earlier step of NC-1")
    assert [a.by for a in current_measure(bot).approvals] == [APPROVER]
    assert event_kinds(bot).count("approve") == 1


def test_a_rejection_after_an_approval_is_explained(bot: LocalBot) -> None:
    walk_to(bot, "measure_proposed")
    asked = last_step_message(bot)
    shown_value = button_value(asked, "measure_reject")
    decide(bot, "measure_approve", APPROVER)
    text = refused(bot, "measure_reject", APPROVER2, message=asked, force=True, value=shown_value)
    assert text.startswith("This button belongs to an earlier step")
    assert case_row(bot).state == "measure_approved"


def test_an_assessment_submitted_after_someone_else_dismissed_the_case_is_refused(
    bot: LocalBot,
) -> None:
    walk_to(bot, "acknowledged")
    asked = last_step_message(bot)
    assessment = open_step_modal(bot, "case_confirm", OFFICER, message=asked)
    dismissal = open_step_modal(bot, "case_dismiss", OFFICER2, message=asked)
    response = bot.driver.submit(dismissal["id"], user=OFFICER2, values={"reason": "Duplicate."})
    assert response.body == b""
    assert case_row(bot).state == "dismissed"

    before = snapshot(bot)
    late = bot.driver.submit(assessment["id"], user=OFFICER, values=ASSESSMENT).json()
    assert late["response_action"] == "errors"
    (message,) = late["errors"].values()
    assert message.startswith("This button belongs to an earlier step of NC-1")
    assert snapshot(bot) == before
    assert event_kinds(bot) == ["reported", "acknowledge", "dismiss"]
