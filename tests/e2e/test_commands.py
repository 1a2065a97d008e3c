"""``/nonconformity`` help, list and status: who sees which case, and what a typo gets."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import update

from bot.devkit.local import LocalBot
from bot.messages import t
from storage.models import Case
from tests.scenarios import (
    ADMIN,
    APPROVER,
    APPROVER2,
    GENERAL,
    GOOD_REPORT,
    OFFICER,
    OFFICER2,
    REPORTER,
    TRIAGE,
)

T = TypeVar("T")
OUTSIDER = "U0REPORTR2"  # an engineer with no role who did not report the case
HELP = t("help.text")


def eventually(condition: Callable[[], T], timeout: float = 5.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {timeout}s"
            return result
        time.sleep(0.02)


def ask(bot: LocalBot, text: str, user: str = REPORTER) -> dict[str, Any]:
    """The command's immediate answer (Bolt sends a text-only answer as text/plain)."""
    response = bot.driver.command("/nonconformity", text, user=user, channel=GENERAL)
    assert response.status == 200, response.text
    if response.headers.get("Content-Type", "").startswith("application/json"):
        answer: dict[str, Any] = response.json()
        return answer
    return {"text": response.text}


def reported(bot: LocalBot, user: str = REPORTER, **values: Any) -> None:
    before = len(bot.standin.calls("views.open"))
    bot.driver.command("/nonconformity", "report", user=user, channel=GENERAL)
    eventually(lambda: len(bot.standin.calls("views.open")) > before)
    view = bot.driver.last_view(user)

    def cards() -> int:
        return len([m for m in bot.standin.messages(TRIAGE) if not m.is_reply])

    before_cards, before_notices = cards(), len(bot.standin.response_posts())
    bot.driver.submit(view["id"], user=user, values={**GOOD_REPORT, **values})
    eventually(lambda: cards() > before_cards)
    # The reporter's notice comes after the card and its permalink are stored.
    eventually(lambda: len(bot.standin.response_posts()) > before_notices)


@pytest.mark.parametrize("text", ["help", "", "   ", "HELP"])
def test_help_and_an_empty_command_answer_with_the_help(bot: LocalBot, text: str) -> None:
    assert ask(bot, text)["text"] == HELP


def test_an_unknown_subcommand_says_so_and_shows_the_help(bot: LocalBot) -> None:
    answer = ask(bot, "frobnicate NC-1")["text"]
    assert answer.startswith(t("help.unknown", command="frobnicate"))
    assert answer.endswith(HELP)
    assert bot.standin.calls("views.open") == []


def test_an_unknown_subcommand_with_markup_is_echoed_escaped(bot: LocalBot) -> None:
    answer = ask(bot, "<!channel>")["text"]
    assert "<!channel>" not in answer and "&lt;!channel&gt;" in answer


@pytest.mark.parametrize("member", [OFFICER, OFFICER2, APPROVER, APPROVER2, ADMIN, REPORTER])
def test_role_members_and_the_reporter_see_a_case(bot: LocalBot, member: str) -> None:
    reported(bot, title="Scores drift")
    status = ask(bot, "status NC-1", member)
    assert status["text"] == f"NC-1: {t('state.reported')}"
    assert "*NC-1* · Scores drift" in status["blocks"][0]["text"]["text"]
    listing = ask(bot, "list", member)
    assert "NC-1" in listing["text"] and "Scores drift" in listing["text"]
    assert "NC-1" in ask(bot, "list all", member)["text"]


def test_someone_else_is_refused_the_case_and_does_not_find_it_in_lists(bot: LocalBot) -> None:
    reported(bot, title="Scores drift")
    assert ask(bot, "status NC-1", OUTSIDER) == {"text": t("case.hidden", ref="NC-1")}
    for scope in ("open", "mine", "all"):
        answer = ask(bot, f"list {scope}", OUTSIDER)
        assert answer == {"text": t("list.empty", scope=scope)}, scope


def test_status_of_an_unknown_case_and_without_a_case_number(bot: LocalBot) -> None:
    reported(bot)
    assert ask(bot, "status NC-999", OFFICER) == {"text": t("case.unknown", ref="NC-999")}
    assert ask(bot, "status foo", OFFICER) == {"text": t("status.usage")}
    assert ask(bot, "status", OFFICER) == {"text": t("status.usage")}
    assert ask(bot, "status nc-1", OFFICER)["text"].startswith("NC-1: ")


def test_list_scopes_open_mine_and_all(bot: LocalBot) -> None:
    reported(bot, REPORTER, title="First report")
    reported(bot, OUTSIDER, title="Second report")
    with bot.services.db.transaction() as session:
        session.execute(update(Case).where(Case.number == 1).values(state="closed"))

    open_cases = ask(bot, "list open", OFFICER)["text"]
    assert "Second report" in open_cases and "First report" not in open_cases
    assert ask(bot, "list", OFFICER)["text"] == open_cases
    everything = ask(bot, "list all", OFFICER)["text"]
    assert "First report" in everything and "Second report" in everything
    assert everything.index("NC-2") < everything.index("NC-1")  # newest first
    assert ask(bot, "list mine", OFFICER) == {"text": t("list.empty", scope="mine")}

    mine = ask(bot, "list mine", OUTSIDER)["text"]
    assert "Second report" in mine and "First report" not in mine
    assert "First report" in ask(bot, "list all", REPORTER)["text"]
    assert "Second report" not in ask(bot, "list all", REPORTER)["text"]
    assert ask(bot, "list bogus", OFFICER) == {"text": t("list.usage")}


def test_a_case_title_in_a_list_cannot_break_its_link(bot: LocalBot) -> None:
    reported(bot, title="a|b> <!here>")
    listing = ask(bot, "list all", OFFICER)
    assert "<!here>" not in listing["text"]
    assert "a|b&gt; &lt;!here&gt;" in listing["text"]


@pytest.mark.parametrize("text", ["help", "list all", "status NC-1", "report", "nonsense"])
def test_every_command_is_acknowledged_well_within_three_seconds(bot: LocalBot, text: str) -> None:
    reported(bot)
    started = time.monotonic()
    response = bot.driver.command("/nonconformity", text, user=OFFICER, channel=GENERAL)
    elapsed = time.monotonic() - started
    assert response.status == 200
    # Slack's own limit, not a speed budget (bench/ack_latency.py measures that): the command
    # is answered before any Web API work, so even a loaded machine stays far inside it.
    assert elapsed < 3.0, f"{text!r} took {elapsed:.2f}s"


def test_a_long_list_is_never_cut_in_the_middle_of_a_case(bot: LocalBot) -> None:
    from bot.cases.report_input import ReportInput

    data = ReportInput.model_validate(
        {
            "system_id": "credit-scoring",
            "title": "Drift & <bias> in scores " * 6,
            "description": "Seen in the monthly review.",
            "requirements": ["art10"],
            "risk": "unknown",
            "severity": "medium",
        }
    )
    for n in range(25):
        bot.services.cases.report(
            data, reporter_id=REPORTER, reporter_team="T0TEAM0001", submission_key=f"T:V{n}"
        )
    bot.services.outbox.deliver_due(limit=200)  # the cards, so that each line links its thread
    listing = ask(bot, "list all", OFFICER)
    section = listing["blocks"][0]["text"]["text"]
    state = t("state.reported")
    lines = section.split("\n")[1:]
    more = t("list.more", count="{count}").split("{count}")[0]
    whole = [line for line in lines if line.endswith(state)]
    assert whole and lines[: len(whole)] == whole, lines[-1]
    rest = lines[len(whole) :]
    assert rest == [] or (len(rest) == 1 and rest[0].startswith(more)), rest
    if rest:
        assert str(25 - len(whole)) in rest[0]
    assert len(section) <= 3000
