"""Steps that many end-to-end tests take, written the way a user does them in Slack."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.local import LocalBot
from bot.standin import DriverResponse

REPORTER = "U0REPORTR1"
OFFICER = "U0OFFICER1"
OFFICER2 = "U0OFFICER2"
APPROVER = "U0APPROVE1"
APPROVER2 = "U0APPROVE2"
ADMIN = "U0ADMIN001"
TRIAGE = "C0TRIAGE01"
GENERAL = "C0GENERAL1"

GOOD_REPORT: dict[str, Any] = {
    "system": "credit-scoring",
    "title": "Scores drift",
    "description": "Approval rates dropped by 30% for applicants over 60.",
    "requirements": ["art10", "art15"],
    "risk": "yes",
    "severity": "high",
    "evidence": "https://example.com/e/42",
}


def wait_for(condition: Callable[[], object], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll until ``condition`` returns something truthy: the bot acks first and calls Slack
    right after, so what a test checks arrives a few milliseconds after the HTTP answer."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def open_report(bot: LocalBot, text: str = "", user: str = REPORTER) -> dict[str, Any]:
    before = len(bot.standin.calls("views.open"))
    response = bot.driver.command("/nonconformity", f"report {text}".strip(), user=user, channel=GENERAL)
    assert response.status == 200, response.body
    wait_for(lambda: len(bot.standin.calls("views.open")) > before, what="views.open")
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def report(bot: LocalBot, user: str = REPORTER, **overrides: Any) -> DriverResponse:
    """Report a case through the command and the modal, as an engineer does."""
    view = open_report(bot, user=user)
    return bot.driver.submit(view["id"], user=user, values={**GOOD_REPORT, **overrides})


def triage_messages(bot: LocalBot) -> list[Any]:
    return bot.standin.messages(TRIAGE)
