"""The same report arriving twice (double click, network retry, replay) makes one case."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qs

from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.devkit.standin import DriverResponse
from storage.models import Case, Counter, OutboxMessage
from tests.scenarios import GENERAL, GOOD_REPORT, REPORTER, TRIAGE

T = TypeVar("T")


def eventually(condition: Callable[[], T], timeout: float = 5.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout}s"
            return result
        time.sleep(0.02)


def open_report(bot: LocalBot) -> tuple[dict[str, Any], str]:
    """The modal and the response_url of the command that opened it."""
    response = bot.driver.command("/nonconformity", "report", user=REPORTER, channel=GENERAL)
    assert response.status == 200
    eventually(lambda: bot.standin.calls("views.open"))
    body = parse_qs(response.request_body.decode())
    return bot.driver.last_view(REPORTER), body["response_url"][0]


def settled(bot: LocalBot, response_url: str) -> None:
    """Wait for the card, its thread step and the reporter's notice, then deliver anything
    still owed so that a duplicate message would have been sent by now."""
    eventually(lambda: bot.standin.response_posts(response_url))
    # Two listeners delivering at once can leave a thread message waiting a moment for the card
    # (a short not_before), or hold a row's lease at the moment we look: move the fake clock on
    # and deliver, as the scheduler's next sweep would, until nothing is owed.
    clock = bot.clock
    assert isinstance(clock, FakeClock)

    def owed() -> int:
        clock.advance(timedelta(seconds=5))
        bot.services.outbox.deliver_due()
        with bot.services.db.transaction() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status != "sent")
                )
                or 0
            )

    eventually(lambda: owed() == 0)


def assert_exactly_one_report(bot: LocalBot, response_url: str) -> None:
    settled(bot, response_url)
    with bot.services.db.transaction() as session:
        assert session.scalars(select(Case.number)).all() == [1]
        counter = session.get(Counter, "case")
        assert counter is not None and counter.value == 1
    cards = [m for m in bot.standin.messages(TRIAGE) if not m.is_reply]
    assert len(cards) == 1
    replies = [m for m in bot.standin.thread(TRIAGE, cards[0].ts) if m.is_reply]
    assert len(replies) == 1
    assert len(bot.standin.response_posts(response_url)) == 1
    assert len(bot.standin.calls("chat.postMessage")) == 2  # the card and the thread step


def test_a_double_click_on_submit_makes_one_case(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    view, response_url = open_report(bot)
    first = bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT)
    second = bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT)

    assert (first.status, first.body) == (200, b"")
    assert (second.status, second.body) == (first.status, first.body)
    assert_exactly_one_report(bot, response_url)


def test_two_submissions_of_the_same_view_at_the_same_moment_make_one_case(
    any_db_bot: LocalBot,
) -> None:
    bot = any_db_bot
    view, response_url = open_report(bot)
    answers: list[DriverResponse] = []
    start = threading.Barrier(4)

    def click() -> None:
        start.wait()
        answers.append(bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT))

    clicks = [threading.Thread(target=click) for _ in range(4)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(timeout=10)

    assert [(a.status, a.body) for a in answers] == [(200, b"")] * 4
    assert_exactly_one_report(bot, response_url)


def test_a_replayed_submission_with_a_retry_header_makes_no_second_case(bot: LocalBot) -> None:
    view, response_url = open_report(bot)
    original = bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT)
    eventually(lambda: bot.standin.response_posts(response_url))

    replay = bot.driver.raw(
        original.request_body,
        "application/x-www-form-urlencoded",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )

    assert (replay.status, replay.body) == (original.status, original.body) == (200, b"")
    assert_exactly_one_report(bot, response_url)


def test_two_different_modals_with_the_same_content_are_two_cases(bot: LocalBot) -> None:
    """The key is the submitted view, not its content: two people may report the same thing."""
    first_view, first_url = open_report(bot)
    bot.driver.submit(first_view["id"], user=REPORTER, values=GOOD_REPORT)
    eventually(lambda: bot.standin.response_posts(first_url))
    response = bot.driver.command("/nonconformity", "report", user=REPORTER, channel=GENERAL)
    assert response.status == 200
    eventually(lambda: len(bot.standin.calls("views.open")) == 2)
    second_view = bot.driver.last_view(REPORTER)
    assert second_view["id"] != first_view["id"]
    bot.driver.submit(second_view["id"], user=REPORTER, values=GOOD_REPORT)

    eventually(lambda: len([m for m in bot.standin.messages(TRIAGE) if not m.is_reply]) == 2)
    with bot.services.db.transaction() as session:
        assert sorted(session.scalars(select(Case.number)).all()) == [1, 2]
