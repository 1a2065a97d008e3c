"""Case numbers are unique and gapless, also when many people report at the same moment: a gap
would read as a deleted case."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from sqlalchemy import select

from bot.cases.report_input import ReportInput
from bot.devkit.local import LocalBot
from bot.devkit.standin import DriverResponse
from storage.models import Case, OutboxMessage
from tests.scenarios import GENERAL, GOOD_REPORT, PATIENCE, REPORTER

T = TypeVar("T")
REPORTS = 20


def eventually(condition: Callable[[], T], timeout: float = PATIENCE) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout}s"
            return result
        time.sleep(0.02)


def open_modals(bot: LocalBot, count: int) -> list[str]:
    """``count`` report modals, each opened by its own command (its own view id)."""
    ids: list[str] = []
    for n in range(count):
        bot.driver.command("/nonconformity", "report", user=REPORTER, channel=GENERAL)
        eventually(lambda n=n: len(bot.standin.calls("views.open")) > n)  # type: ignore[misc]
        ids.append(bot.driver.last_view(REPORTER)["id"])
    assert len(set(ids)) == count
    return ids


def numbers(bot: LocalBot) -> list[int]:
    with bot.services.db.transaction() as session:
        return sorted(session.scalars(select(Case.number)).all())


def all_delivered(bot: LocalBot) -> None:
    """Whatever the listeners left waiting for its card is sent (the sweep's job, run here with
    the fake clock moved on), so that no listener still works when the test ends."""

    def pending() -> list[str]:
        clock: Any = bot.clock
        clock.advance(timedelta(seconds=5))
        bot.services.outbox.deliver_due(limit=200)
        with bot.services.db.transaction() as session:
            return list(
                session.scalars(select(OutboxMessage.kind).where(OutboxMessage.status != "sent"))
            )

    eventually(lambda: not pending())


def submit_all_at_once(bot: LocalBot, submissions: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    answers: list[Any] = [None] * len(submissions)
    start = threading.Barrier(len(submissions))

    def submit(index: int, view_id: str, values: dict[str, Any]) -> None:
        start.wait()
        response: DriverResponse = bot.driver.submit(view_id, user=REPORTER, values=values)
        answers[index] = (response.status, response.json())

    threads = [
        threading.Thread(target=submit, args=(i, view_id, values))
        for i, (view_id, values) in enumerate(submissions)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_twenty_simultaneous_reports_get_numbers_one_to_twenty(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    views = open_modals(bot, REPORTS + 2)
    good = [(view_id, GOOD_REPORT) for view_id in views[:REPORTS]]
    refused = [
        (view_id, {**GOOD_REPORT, "system": "retired-system"}) for view_id in views[REPORTS:]
    ]
    # The refused ones run in the middle of the crowd.
    crowd = good[:10] + refused + good[10:]

    answers = submit_all_at_once(bot, crowd)

    assert answers.count((200, None)) == REPORTS
    errors = [a for a in answers if a != (200, None)]
    assert [list(body["errors"]) for _, body in errors] == [["system"], ["system"]]
    assert numbers(bot) == list(range(1, REPORTS + 1))
    all_delivered(bot)
    cards = [m for m in bot.standin.messages("C0TRIAGE01") if not m.is_reply]
    assert len(cards) == REPORTS


def test_a_refused_report_between_two_good_ones_takes_no_number(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    first, failing, second = open_modals(bot, 3)
    assert bot.driver.submit(first, user=REPORTER, values=GOOD_REPORT).status == 200
    refused = bot.driver.submit(
        failing, user=REPORTER, values={**GOOD_REPORT, "system": "retired-system"}
    )
    assert list(refused.json()["errors"]) == ["system"]
    assert bot.driver.submit(second, user=REPORTER, values=GOOD_REPORT).status == 200
    assert numbers(bot) == [1, 2]
    all_delivered(bot)


def test_a_duplicate_submission_hands_back_the_original_case(bot: LocalBot) -> None:
    data = ReportInput.model_validate(
        {
            "system_id": "credit-scoring",
            "title": "Scores drift",
            "description": "Approval rates dropped.",
            "requirements": ["art10"],
            "risk": "yes",
            "severity": "high",
            "evidence_url": None,
        }
    )
    kwargs: dict[str, Any] = {
        "reporter_id": REPORTER,
        "reporter_team": bot.standin.team_id,
        "submission_key": "T0TEAM0001:V0DOUBLE01",
    }
    original = bot.services.cases.report(data, **kwargs)
    duplicate = bot.services.cases.report(data, **kwargs)
    assert (original.created, duplicate.created) == (True, False)
    assert duplicate.case.number == original.case.number == 1
