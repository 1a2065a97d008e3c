"""Who may do what in the guided thread: every row of the issue's table refused for the wrong
people with an ephemeral explanation, and nothing changed — not the case, not the thread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.devkit.local import PARTNER_TEAM, LocalBot
from bot.ops.workspace import Workspace
from tests.scenarios import (
    ADMIN,
    APPROVER,
    APPROVER2,
    ASSESSMENT,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    REPORTER,
    case_row,
    current_measure,
    decide,
    guided_workspace,
    last_step_message,
    open_step_modal,
    refused,
    snapshot,
    walk_to,
)


@pytest.fixture
def workspace() -> Workspace:
    """Systems without partners: nothing but the guided thread stands between Done and Close."""
    return guided_workspace()


PARTNER = "U0PARTNER1"  # a Slack Connect user of team T0PARTNER1
REPORTER2 = "U0REPORTR2"


@pytest.fixture
def bot_with_roles(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalBot]:
    """A local bot whose workspace has other roles: ``request.param`` maps role names to user
    ids (pass it with ``@pytest.mark.parametrize(..., indirect=True)``)."""
    workspace = guided_workspace(**request.param)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    with LocalBot(workspace, database_url=url, clock=FakeClock()) as local:
        yield local


TRIAGE_ONLY = "Only @triage can do this."
MEASURE_PROPOSERS = "Only @triage, @approvers can do this."

TABLE = [
    # (state, button, who clicks, explanation)
    ("reported", "case_acknowledge", REPORTER, TRIAGE_ONLY),
    ("reported", "case_acknowledge", APPROVER, TRIAGE_ONLY),
    ("reported", "case_acknowledge", ADMIN, TRIAGE_ONLY),
    ("acknowledged", "case_confirm", APPROVER, TRIAGE_ONLY),
    ("acknowledged", "case_confirm", REPORTER, TRIAGE_ONLY),
    ("acknowledged", "case_dismiss", APPROVER, TRIAGE_ONLY),
    ("acknowledged", "case_dismiss", REPORTER, TRIAGE_ONLY),
    ("confirmed", "measure_choose_withdraw", REPORTER, MEASURE_PROPOSERS),
    ("confirmed", "measure_choose_recall", ADMIN, MEASURE_PROPOSERS),
    ("confirmed", "measure_choose_bring_into_conformity", REPORTER2, MEASURE_PROPOSERS),
    ("measure_proposed", "measure_approve", OFFICER2, "Only @approvers can do this."),
    ("measure_proposed", "measure_approve", REPORTER, "Only @approvers can do this."),
    ("measure_proposed", "measure_reject", ADMIN, "Only @approvers can do this."),
    ("measure_approved", "measure_done", APPROVER, f"Only <@{OFFICER2}>, @triage can do this."),
    ("measure_approved", "measure_done", REPORTER, f"Only <@{OFFICER2}>, @triage can do this."),
    ("measure_done", "case_close", APPROVER, f"Only <@{OFFICER}>, @triage can do this."),
    ("measure_done", "case_close", REPORTER, f"Only <@{OFFICER}>, @triage can do this."),
    ("closed", "case_reopen", OFFICER, "Only @admins can do this."),
    ("closed", "case_reopen", APPROVER, "Only @admins can do this."),
    ("closed", "case_reopen", REPORTER, "Only @admins can do this."),
]


@pytest.mark.parametrize(
    ("state", "action_id", "user", "explanation"),
    TABLE,
    ids=[f"{who}-cannot-{action}-when-{state}" for state, action, who, _ in TABLE],
)
def test_the_wrong_person_is_refused_and_nothing_changes(
    bot: LocalBot, state: str, action_id: str, user: str, explanation: str
) -> None:
    walk_to(bot, state)
    assert refused(bot, action_id, user) == explanation


def test_an_approver_who_proposed_the_measure_may_not_approve_or_reject_it(bot: LocalBot) -> None:
    walk_to(bot, "confirmed")
    decide(bot, "measure_choose_disable", APPROVER, {**MEASURE_PLAN, "owner": APPROVER})
    four_eyes = "You proposed this corrective action"
    assert refused(bot, "measure_approve", APPROVER).startswith(four_eyes)
    assert refused(bot, "measure_reject", APPROVER).startswith(four_eyes)
    decide(bot, "measure_approve", APPROVER2)
    assert case_row(bot).state == "measure_approved"


@pytest.mark.parametrize(
    "bot_with_roles",
    [{"triage": [OFFICER, OFFICER2], "approvers": [OFFICER, APPROVER]}],
    indirect=True,
)
def test_a_triage_member_who_is_also_an_approver_cannot_approve_their_own_proposal(
    bot_with_roles: LocalBot,
) -> None:
    bot = bot_with_roles
    walk_to(bot, "measure_proposed")  # proposed by OFFICER, triage and approver
    asking = last_step_message(bot).blocks[0]["text"]["text"]
    assert f"<@{APPROVER}>" in asking and f"<@{OFFICER}>" not in asking
    four_eyes = "You proposed this corrective action"
    assert refused(bot, "measure_approve", OFFICER).startswith(four_eyes)
    assert refused(bot, "measure_reject", OFFICER).startswith(four_eyes)
    decide(bot, "measure_approve", APPROVER)
    assert [a.by for a in current_measure(bot).approvals] == [APPROVER]


def test_a_measure_owner_outside_triage_may_mark_it_done_but_nobody_else(bot: LocalBot) -> None:
    walk_to(bot, "confirmed")
    decide(bot, "measure_choose_withdraw", OFFICER, {**MEASURE_PLAN, "owner": REPORTER2})
    decide(bot, "measure_approve", APPROVER)
    only = f"Only <@{REPORTER2}>, @triage can do this."
    assert refused(bot, "measure_done", REPORTER) == only
    assert refused(bot, "measure_done", APPROVER2) == only
    decide(bot, "measure_done", REPORTER2, {"evidence": "Removed from the catalogue.", "link": ""})
    assert case_row(bot).state == "measure_done"


EXTERNAL = "People from other organisations can follow this case but not change it."
EVERY_STEP = [
    ("reported", ["case_acknowledge"]),
    ("acknowledged", ["case_confirm", "case_dismiss"]),
    (
        "confirmed",
        [
            "measure_choose_bring_into_conformity",
            "measure_choose_withdraw",
            "measure_choose_disable",
            "measure_choose_recall",
        ],
    ),
    ("measure_proposed", ["measure_approve", "measure_reject"]),
    ("measure_approved", ["measure_done"]),
    ("measure_done", ["case_close"]),
    ("closed", ["case_reopen"]),
]
EVERY_ROLE = {
    "triage": [OFFICER, OFFICER2, PARTNER],
    "approvers": [APPROVER, APPROVER2, PARTNER],
    "admins": [ADMIN, PARTNER],
}


@pytest.mark.parametrize("bot_with_roles", [EVERY_ROLE], indirect=True)
@pytest.mark.parametrize(("state", "action_ids"), EVERY_STEP, ids=[s for s, _ in EVERY_STEP])
def test_a_slack_connect_user_with_every_role_can_do_nothing(
    bot_with_roles: LocalBot, state: str, action_ids: list[str]
) -> None:
    bot = bot_with_roles
    assert bot.workspace.roles_of(PARTNER) == {"triage", "approvers", "admins"}
    walk_to(bot, state)
    for action_id in action_ids:
        assert refused(bot, action_id, PARTNER, team_id=PARTNER_TEAM) == EXTERNAL
        # a user id of ours, but the request comes from another workspace
        assert refused(bot, action_id, OFFICER, team_id=PARTNER_TEAM) == EXTERNAL


# --- modals: refused inline, next to the input ---


def inline_errors(bot: LocalBot, view: dict[str, Any], user: str, values: dict[str, Any]) -> Any:
    before = snapshot(bot)
    response = bot.driver.submit(view["id"], user=user, values=values)
    assert response.status == 200
    answer = response.json()
    assert answer is not None, "the modal was accepted"
    assert answer["response_action"] == "errors", answer
    assert bot.standin.open_views(user), "the modal was closed"
    assert snapshot(bot) == before
    return answer["errors"]


REASONED = [
    ("acknowledged", "case_dismiss", OFFICER),
    ("measure_proposed", "measure_reject", APPROVER2),
    ("closed", "case_reopen", ADMIN),
]


@pytest.mark.parametrize(("state", "action_id", "user"), REASONED, ids=[a for _, a, _ in REASONED])
@pytest.mark.parametrize("reason", ["", "   \n "], ids=["empty", "blank"])
def test_a_decision_without_a_reason_is_refused_in_the_modal(
    bot: LocalBot, state: str, action_id: str, user: str, reason: str
) -> None:
    walk_to(bot, state)
    view = open_step_modal(bot, action_id, user)
    errors = inline_errors(bot, view, user, {"reason": reason})
    assert errors == {"reason": "Please fill this in."}


def test_a_target_date_in_the_past_is_refused_next_to_the_date(bot: LocalBot) -> None:
    walk_to(bot, "confirmed")  # the fake clock says 2026-11-30
    view = open_step_modal(bot, "measure_choose_withdraw", OFFICER)
    errors = inline_errors(bot, view, OFFICER, {**MEASURE_PLAN, "target_date": "2026-11-29"})
    assert errors == {"target_date": "The target date cannot be in the past."}
    today = bot.driver.submit(
        view["id"], user=OFFICER, values={**MEASURE_PLAN, "target_date": "2026-11-30"}
    )
    assert (today.status, today.body) == (200, b"")
    assert current_measure(bot).target_date == date(2026, 11, 30)


def test_a_modal_submitted_from_another_workspace_is_refused(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    view = open_step_modal(bot, "case_confirm", OFFICER)
    before = snapshot(bot)
    response = bot.driver.submit(view["id"], user=OFFICER, values=ASSESSMENT, team_id=PARTNER_TEAM)
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"].values()) == [EXTERNAL]
    assert snapshot(bot) == before


def test_evidence_with_a_link_that_is_not_a_web_address_is_refused_next_to_it(
    bot: LocalBot,
) -> None:
    walk_to(bot, "measure_approved")
    view = open_step_modal(bot, "measure_done", OFFICER2)
    errors = inline_errors(
        bot, view, OFFICER2, {"evidence": "Done.", "link": "javascript:alert(1)"}
    )
    assert list(errors) == ["link"]
    assert inline_errors(bot, view, OFFICER2, {"evidence": "  ", "link": ""}) == {
        "evidence": "Please fill this in."
    }


def test_an_awareness_date_in_the_future_is_refused_next_to_it(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")  # the fake clock says 2026-11-30
    view = open_step_modal(bot, "case_confirm", OFFICER)
    errors = inline_errors(bot, view, OFFICER, {**ASSESSMENT, "aware_on": "2026-12-24"})
    assert list(errors) == ["aware_on"]


def test_the_target_date_is_checked_against_today_where_the_organisation_works(
    bot: LocalBot,
) -> None:
    """At 00:30 in Amsterdam it is still yesterday in UTC: yesterday is past all the same."""
    walk_to(bot, "confirmed")
    view = open_step_modal(bot, "measure_choose_withdraw", OFFICER)
    bot.clock.now = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # type: ignore[attr-defined]
    errors = inline_errors(bot, view, OFFICER, {**MEASURE_PLAN, "target_date": "2026-11-30"})
    assert errors == {"target_date": "The target date cannot be in the past."}
