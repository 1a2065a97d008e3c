"""Two approvers at once, a double click, the same submission delivered twice: real concurrent
HTTP requests against the running bot make exactly one transition, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from bot.devkit.local import LocalBot
from bot.devkit.standin import DriverResponse
from bot.ops.workspace import Workspace
from tests.scenarios import (
    APPROVER,
    APPROVER2,
    ASSESSMENT,
    OFFICER,
    OFFICER2,
    TRIAGE,
    case_events,
    case_row,
    event_kinds,
    guided_workspace,
    last_step_message,
    open_step_modal,
    settle,
    wait_for,
    walk_to,
)


@pytest.fixture
def workspace() -> Workspace:
    """Systems without partners: nothing but the guided thread stands between Done and Close."""
    return guided_workspace()


def at_once(*requests: Callable[[], DriverResponse]) -> list[DriverResponse]:
    """Send every request from its own thread, released together."""
    start = threading.Barrier(len(requests))
    answers: list[DriverResponse | None] = [None] * len(requests)

    def send(i: int) -> None:
        start.wait()
        answers[i] = requests[i]()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=15)
    assert all(a is not None and a.status == 200 for a in answers), answers
    return [a for a in answers if a is not None]


def thread_posts(bot: LocalBot) -> int:
    """Step messages posted in the case thread (one per transition)."""
    return len(
        [
            c
            for c in bot.standin.calls("chat.postMessage")
            if c.args.get("channel") == TRIAGE
            and c.args.get("thread_ts")
            and (c.args.get("blocks") or [{}])[0].get("block_id") == "step"
        ]
    )


def counts(bot: LocalBot) -> tuple[int, int, int]:
    """The case version, the messages posted to triage and the ephemeral answers so far."""
    settle(bot)
    return case_row(bot).version, thread_posts(bot), len(bot.standin.response_posts())


def assert_one_transition(
    bot: LocalBot, kind: str, before: tuple[int, int, int], refusals: int = 0
) -> None:
    """One event of ``kind``, the version moved once, one new thread message, and everyone
    else told why not."""
    version, posts, answered = before
    wait_for(
        lambda: len(bot.standin.response_posts()) >= answered + refusals,
        what=f"{refusals} explanations",
    )
    settle(bot)
    assert event_kinds(bot).count(kind) == 1, event_kinds(bot)
    assert case_row(bot).version == version + 1
    assert thread_posts(bot) == posts + 1
    answers = bot.standin.response_posts()[answered:]
    assert len(answers) == refusals, [a.body for a in answers]
    for answer in answers:
        assert answer.body["response_type"] == "ephemeral"


def test_two_approvers_clicking_approve_at_once_make_one_approval(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    walk_to(bot, "measure_proposed")
    asked = last_step_message(bot)
    before = counts(bot)

    at_once(
        lambda: bot.driver.click(TRIAGE, asked.ts, "measure_approve", user=APPROVER),
        lambda: bot.driver.click(TRIAGE, asked.ts, "measure_approve", user=APPROVER2),
    )

    wait_for(lambda: case_row(bot).version == before[0] + 1, what="the approval")
    assert_one_transition(bot, "approve", before, refusals=1)
    measure = case_row(bot).measure
    assert measure is not None
    assert len(measure.approvals) == 1 and measure.approvals[0].by in (APPROVER, APPROVER2)
    loser = bot.standin.response_posts()[-1]
    assert "moved on" in loser.body["text"]


def test_a_double_click_on_acknowledge_acknowledges_once(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    walk_to(bot, "reported")
    asked = last_step_message(bot)
    before = counts(bot)

    at_once(
        *[
            lambda: bot.driver.click(TRIAGE, asked.ts, "case_acknowledge", user=OFFICER)
            for _ in range(3)
        ]
    )

    wait_for(lambda: case_row(bot).version == before[0] + 1, what="the acknowledgement")
    assert_one_transition(bot, "acknowledge", before, refusals=2)
    assert case_row(bot).owner_id == OFFICER


def test_two_triage_members_acknowledging_at_once_leave_one_owner(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    walk_to(bot, "reported")
    asked = last_step_message(bot)
    before = counts(bot)

    at_once(
        lambda: bot.driver.click(TRIAGE, asked.ts, "case_acknowledge", user=OFFICER),
        lambda: bot.driver.click(TRIAGE, asked.ts, "case_acknowledge", user=OFFICER2),
    )

    wait_for(lambda: case_row(bot).version == before[0] + 1, what="the acknowledgement")
    assert_one_transition(bot, "acknowledge", before, refusals=1)
    (event,) = [e for e in case_events(bot) if e.kind == "acknowledge"]
    assert case_row(bot).owner_id == event.actor_id


def test_the_same_assessment_submitted_twice_at_once_confirms_once(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    walk_to(bot, "acknowledged")
    view = open_step_modal(bot, "case_confirm", OFFICER)
    before = counts(bot)

    answers = at_once(*[lambda: bot.driver.submit(view["id"], user=OFFICER, values=ASSESSMENT)] * 3)

    assert [a.body for a in answers] == [b""] * 3  # a duplicate is acknowledged, not refused
    assert_one_transition(bot, "confirm", before)


def test_a_redelivered_assessment_changes_nothing(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    walk_to(bot, "acknowledged")
    view = open_step_modal(bot, "case_confirm", OFFICER)
    before = counts(bot)
    first = bot.driver.submit(view["id"], user=OFFICER, values=ASSESSMENT)
    settle(bot)

    again = bot.driver.raw(
        first.request_body,
        "application/x-www-form-urlencoded",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )

    assert (again.status, again.body) == (first.status, first.body) == (200, b"")
    assert_one_transition(bot, "confirm", before)
