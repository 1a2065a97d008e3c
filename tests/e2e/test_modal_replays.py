"""Modal submissions carry the case version they were opened at (issue 15, item 10): a replayed
or outdated submission is refused next to its field, with the stale-click explanation, and
changes nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.devkit.local import LocalBot
from bot.views import ids
from tests.scenarios import (
    APPROVER,
    DONE_EVIDENCE,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    SERIOUS_ASSESSMENT,
    TRIAGE,
    assessed,
    case_events,
    case_row,
    decide,
    duties_panel,
    notice_rows,
    notice_table,
    open_duty,
    settle,
    wait_for,
    walk_to,
)

FORM = "application/x-www-form-urlencoded"
STALE = "the case has moved on"


def correct_awareness(bot: LocalBot, aware_on: str) -> Any:
    before = len(bot.standin.calls("views.open"))
    bot.driver.click(TRIAGE, duties_panel(bot).ts, ids.AWARENESS, user=OFFICER)
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="the awareness modal")
    view = bot.driver.last_view(OFFICER)
    values = {"aware_on": aware_on, "reason": "Checked the deployer's e-mails."}
    answer = bot.driver.submit(view["id"], user=OFFICER, values=values)
    assert (answer.status, answer.body) == (200, b""), answer.body
    settle(bot)
    return answer


def corrections(bot: LocalBot) -> list[Any]:
    return [e for e in case_events(bot) if e.kind == "awareness_corrected"]


def test_replaying_an_earlier_awareness_correction_after_a_newer_one_changes_nothing(
    bot: LocalBot, caplog: pytest.LogCaptureFixture
) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    earlier = correct_awareness(bot, "2026-11-27")
    correct_awareness(bot, "2026-11-25")
    assert str(case_row(bot).details.aware_on) == "2026-11-25"
    events = len(case_events(bot))

    with caplog.at_level(logging.WARNING, logger="ncbot"):
        replay = bot.driver.raw(earlier.request_body, FORM)

    assert replay.status == 200
    answer = replay.json()
    assert answer["response_action"] == "errors"
    assert list(answer["errors"]) == ["aware_on"]
    assert STALE in answer["errors"]["aware_on"] and "NC-1" in answer["errors"]["aware_on"]
    assert str(case_row(bot).details.aware_on) == "2026-11-25"
    assert len(case_events(bot)) == events
    assert [e.payload["data"]["to"] for e in corrections(bot)] == ["2026-11-27", "2026-11-25"]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "submission refused: opened at an earlier version of the case"
    ]


def test_a_duty_modal_opened_before_a_step_is_refused_as_stale(bot: LocalBot) -> None:
    assessed(bot, SERIOUS_ASSESSMENT)
    view = open_duty(bot, "initial_report")
    decide(bot, "measure_choose_withdraw", OFFICER, MEASURE_PLAN)  # the case moves on
    answer = bot.driver.submit(
        view["id"], user=OFFICER, values={"on": "2026-11-30", "how": "Authority's form"}
    )
    assert answer.json()["response_action"] == "errors"
    assert STALE in str(answer.json()["errors"])
    assert "initial_report" not in case_row(bot).details.duties


def test_a_waiver_modal_opened_before_a_step_is_refused_as_stale(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    table = notice_table(bot)
    views = len(bot.standin.calls("views.open"))
    bot.driver.click(TRIAGE, table.ts, ids.NOTICE_WAIVE, user=APPROVER)
    wait_for(lambda: len(bot.standin.calls("views.open")) > views, what="the waive modal")
    modal = bot.driver.last_view(APPROVER)
    notice = next(
        o["value"]
        for b in modal["blocks"]
        if b.get("block_id") == "notice"
        for o in b["element"]["options"]
    )
    decide(bot, "measure_done", OFFICER2, DONE_EVIDENCE)
    answer = bot.driver.submit(
        modal["id"], user=APPROVER, values={"notice": notice, "reason": "Told by phone."}
    )
    assert answer.json()["response_action"] == "errors"
    assert STALE in answer.json()["errors"]["notice"]
    assert all(n.status != "waived" for n in notice_rows(bot).values())
