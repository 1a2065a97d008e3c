"""An engineer reports a suspected non-conformity: command, modal, case card, thread, notice."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs

from sqlalchemy import func, select

from bot.devkit.local import LocalBot
from storage.models import Case, CaseEvent
from tests.scenarios import GENERAL, GOOD_REPORT, REPORTER, TRIAGE

T = TypeVar("T")


def eventually(condition: Callable[[], T], timeout: float = 5.0) -> T:
    """Poll until ``condition()`` is truthy (the outbox delivers just after the ack)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout}s"
            return result
        time.sleep(0.02)


def open_report(bot: LocalBot, text: str = "", user: str = REPORTER) -> dict[str, Any]:
    """``/nonconformity report <text>``; the modal opens just after the ack."""
    before = len(bot.standin.calls("views.open"))
    text = f"report {text}".strip()
    response = bot.driver.command("/nonconformity", text, user=user, channel=GENERAL)
    assert response.status == 200, response.body
    eventually(lambda: len(bot.standin.calls("views.open")) > before)
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def labels(view: dict[str, Any]) -> dict[str, str]:
    return {
        block["block_id"]: block["label"]["text"]
        for block in view["blocks"]
        if block.get("type") == "input"
    }


def test_an_engineer_reports_a_case_and_triage_sees_it_with_a_thread(any_db_bot: LocalBot) -> None:
    bot = any_db_bot
    response = bot.driver.command(
        "/nonconformity",
        "report credit-scoring Scores drift for older applicants",
        user=REPORTER,
        channel=GENERAL,
    )
    assert response.status == 200

    # The modal was opened with the command's own trigger, prefilled from the text.
    command_body = parse_qs(response.request_body.decode())
    opened = eventually(lambda: bot.standin.calls("views.open"))
    assert len(opened) == 1 and opened[0].response["ok"] is True
    assert opened[0].args["trigger_id"] == command_body["trigger_id"][0]
    view = bot.driver.last_view(REPORTER)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["title"]["element"]["initial_value"] == "Scores drift for older applicants"
    assert blocks["system"]["element"]["initial_option"]["value"] == "credit-scoring"
    words = " ".join(labels(view).values())
    expected = ("AI system", "Title", "Description", "requirements", "risk", "severity", "evidence")
    for word in expected:
        assert word.lower() in words.lower(), f"no label mentions {word!r}: {words}"

    # Submitting closes the modal (empty 200) and stores the case before anything is posted.
    submitted = bot.driver.submit(view["id"], user=REPORTER, values=GOOD_REPORT)
    assert submitted.status == 200 and submitted.body.strip() == b""
    assert bot.driver.submissions[-1].errors == []

    card = eventually(lambda: [m for m in bot.standin.messages(TRIAGE) if not m.is_reply])[0]
    assert card.blocks is not None
    assert card.blocks[0]["type"] == "header"
    assert card.blocks[0]["text"]["text"].startswith("NC-1")
    assert "Scores drift" in card.blocks[0]["text"]["text"]

    def acknowledge_step() -> list[Any]:
        return [m for m in bot.standin.thread(TRIAGE, card.ts) if m.is_reply]

    step = eventually(acknowledge_step)
    assert len(step) == 1
    buttons = [
        element
        for block in step[0].blocks or []
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]
    assert [b["text"]["text"] for b in buttons] == ["Acknowledge"]

    # The reporter hears where the case lives, through the command's response_url, with a link.
    notices = eventually(
        lambda: [p for p in bot.standin.response_posts(command_body["response_url"][0])]
    )
    assert len(notices) == 1 and notices[0].status == 200
    permalink = bot.standin.calls("chat.getPermalink")[0].response["permalink"]
    assert "NC-1" in notices[0].body["text"] and permalink in notices[0].body["text"]

    with bot.services.db.transaction() as session:
        case = session.scalars(select(Case)).one()
        assert (case.number, case.system_id, case.reporter_id) == (1, "credit-scoring", REPORTER)
        assert (case.title, case.severity, case.risk) == ("Scores drift", "high", "yes")
        assert case.requirements == ["art10", "art15"]
        assert case.card_ts == card.ts
        kinds = session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)
        ).all()
        assert kinds[0] == "reported"
        assert (
            session.scalar(
                select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "reported")
            )
            == 1
        )

    assert all(call.response.get("ok") for call in bot.standin.calls()), [
        (c.method, c.response) for c in bot.standin.calls() if not c.response.get("ok")
    ]


def test_report_without_text_opens_an_empty_modal_with_no_system_chosen(bot: LocalBot) -> None:
    view = open_report(bot)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert "initial_value" not in blocks["title"]["element"]
    assert "initial_option" not in blocks["system"]["element"]
    systems = [o["value"] for o in blocks["system"]["element"]["options"]]
    assert sorted(systems) == ["credit-scoring", "cv-screening"]


def test_free_text_that_does_not_start_with_a_system_id_is_all_title(bot: LocalBot) -> None:
    view = open_report(bot, "credit scoring is off")
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert blocks["title"]["element"]["initial_value"] == "credit scoring is off"
    assert "initial_option" not in blocks["system"]["element"]
