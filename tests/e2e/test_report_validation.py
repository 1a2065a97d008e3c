"""A report with a bad field is answered inline in the modal and nothing is stored; a database
failure during the submission is shown inline too and leaves nothing half-written."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, text

from bot.devkit.local import LocalBot
from bot.messages import t
from storage.models import Case, CaseEvent, Counter, OutboxMessage
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


def open_report(bot: LocalBot, user: str = REPORTER) -> dict[str, Any]:
    before = len(bot.standin.calls("views.open"))
    response = bot.driver.command("/nonconformity", "report", user=user, channel=GENERAL)
    assert response.status == 200, response.body
    eventually(lambda: len(bot.standin.calls("views.open")) > before)
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def stored(bot: LocalBot) -> dict[str, int]:
    """What a report leaves in the database: rows per table and the case counter."""
    with bot.services.db.transaction() as session:
        counter = session.get(Counter, "case")
        return {
            "cases": session.scalar(select(func.count()).select_from(Case)) or 0,
            "events": session.scalar(select(func.count()).select_from(CaseEvent)) or 0,
            "outbox": session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            "counter": counter.value if counter is not None else 0,
        }


NOTHING = {"cases": 0, "events": 0, "outbox": 0, "counter": 0}


BAD_FIELDS = [
    pytest.param({"title": ""}, "title", t("report.error.required"), id="empty title"),
    pytest.param({"title": "   "}, "title", t("report.error.required"), id="blank title"),
    pytest.param(
        {"description": "x" * 2901},
        "description",
        t("report.error.too_long", count=2900),
        id="description over 2900",
    ),
    pytest.param({"requirements": []}, "requirements", t("report.error.choice"), id="no reqs"),
    pytest.param(
        {"requirements": ["art99"]}, "requirements", t("report.error.choice"), id="forged req"
    ),
    pytest.param(
        {"evidence": "ftp://example.com/log.txt"}, "evidence", t("report.error.url"), id="ftp url"
    ),
    pytest.param(
        {"system": "no-such-system"},
        "system",
        t("report.unknown_system", system="no-such-system"),
        id="forged unknown system",
    ),
    pytest.param({"risk": None}, "risk", t("report.error.choice"), id="no risk"),
    pytest.param({"severity": "apocalyptic"}, "severity", t("report.error.choice"), id="forged"),
]


@pytest.mark.parametrize(("change", "block", "message"), BAD_FIELDS)
def test_a_bad_field_is_answered_inline_and_nothing_is_stored(
    bot: LocalBot, change: dict[str, Any], block: str, message: str
) -> None:
    view = open_report(bot)
    response = bot.driver.submit(view["id"], user=REPORTER, values={**GOOD_REPORT, **change})

    assert response.status == 200
    assert response.json() == {"response_action": "errors", "errors": {block: message}}
    assert bot.driver.submissions[-1].errors == []  # Slack accepts the answer
    assert bot.standin.view(view["id"]).is_open  # the reporter can correct it
    assert stored(bot) == NOTHING

    # The refused report consumed no number: the next good one is NC-1.
    fixed = bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT)
    assert fixed.status == 200 and fixed.body.strip() == b""
    card = eventually(lambda: bot.standin.messages(TRIAGE))[0]
    assert card.blocks is not None and card.blocks[0]["text"]["text"].startswith("NC-1 ")
    assert stored(bot)["cases"] == 1


def test_several_bad_fields_are_all_answered_at_once(bot: LocalBot) -> None:
    view = open_report(bot)
    response = bot.driver.submit(
        view["id"],
        user=REPORTER,
        values={**GOOD_REPORT, "title": "", "requirements": [], "evidence": "ftp://x"},
    )
    assert set(response.json()["errors"]) == {"title", "requirements", "evidence"}
    assert stored(bot) == NOTHING
    assert bot.standin.calls("chat.postMessage") == []


@contextmanager
def outbox_refuses_writes(bot: LocalBot) -> Iterator[None]:
    """The database fails half-way through storing a report: after the case row, the counter
    and the audit event were written, inserting the first outbox row raises."""
    db = bot.services.db
    with db.engine.begin() as connection:
        if db.is_sqlite:
            connection.execute(
                text(
                    "CREATE TRIGGER outbox_broken BEFORE INSERT ON outbox "
                    "BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "CREATE FUNCTION outbox_broken() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'could not write block'; END $$"
                )
            )
            connection.execute(
                text(
                    "CREATE TRIGGER outbox_broken BEFORE INSERT ON outbox "
                    "FOR EACH ROW EXECUTE FUNCTION outbox_broken()"
                )
            )
    try:
        yield
    finally:
        with db.engine.begin() as connection:
            connection.execute(
                text("DROP TRIGGER outbox_broken" + ("" if db.is_sqlite else " ON outbox"))
            )
            if not db.is_sqlite:
                connection.execute(text("DROP FUNCTION outbox_broken()"))


def test_a_database_failure_during_submission_is_shown_inline_and_nothing_is_half_written(
    any_db_bot: LocalBot,
) -> None:
    bot = any_db_bot
    view = open_report(bot)
    with outbox_refuses_writes(bot):
        response = bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT)

    assert response.status == 200
    assert response.json() == {
        "response_action": "errors",
        "errors": {"system": t("report.error.storage")},
    }
    assert bot.standin.view(view["id"]).is_open
    assert stored(bot) == NOTHING
    assert bot.standin.calls("chat.postMessage") == []

    # Once the database is back, the same modal goes through and gets the first number.
    again = bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT)
    assert again.status == 200 and again.body.strip() == b""
    card = eventually(lambda: bot.standin.messages(TRIAGE))[0]
    assert card.blocks is not None and card.blocks[0]["text"]["text"].startswith("NC-1 ")
    assert stored(bot)["counter"] == 1
