"""Steps that many end-to-end tests take, written the way a user does them in Slack."""

from __future__ import annotations

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


def open_report(bot: LocalBot, text: str = "", user: str = REPORTER) -> dict[str, Any]:
    response = bot.driver.command("/nonconformity", f"report {text}".strip(), user=user, channel=GENERAL)
    assert response.status == 200, response.body
    view: dict[str, Any] = bot.driver.last_view(user)
    return view


def report(bot: LocalBot, user: str = REPORTER, **overrides: Any) -> DriverResponse:
    """Report a case through the command and the modal, as an engineer does."""
    view = open_report(bot, user=user)
    return bot.driver.submit(view["id"], user=user, values={**GOOD_REPORT, **overrides})


def triage_messages(bot: LocalBot) -> list[Any]:
    return bot.standin.messages(TRIAGE)
