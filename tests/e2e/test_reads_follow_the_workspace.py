"""Reads follow the rule of decisions (issue 15, item 9): a user id that is in a role list, or
that reported a case, arriving with another organisation's ``team_id`` reads only what an
outsider reads — in ``status``, ``list``, ``export`` and the App Home."""

from __future__ import annotations

from typing import Any

import pytest

from bot.devkit.local import PARTNER_TEAM, LocalBot
from bot.messages import t
from tests.e2e.test_home import home_text, published, publishes, section_text
from tests.scenarios import ADMIN, APPROVER, GENERAL, OFFICER, REPORTER, settle, wait_for, walk_to

OUTSIDER = "U0REPORTR2"  # an engineer of ours with no role who did not report the case


def ask(bot: LocalBot, text: str, user: str, team_id: str | None = None) -> dict[str, Any]:
    response = bot.driver.command(
        "/nonconformity", text, user=user, channel=GENERAL, team_id=team_id
    )
    assert response.status == 200, response.text
    if response.headers.get("Content-Type", "").startswith("application/json"):
        answer: dict[str, Any] = response.json()
        return answer
    return {"text": response.text}


@pytest.fixture
def acknowledged(bot: LocalBot) -> LocalBot:
    walk_to(bot, "acknowledged")
    return bot


@pytest.mark.parametrize("member", [OFFICER, APPROVER, ADMIN, REPORTER])
def test_status_from_another_workspace_answers_as_to_an_outsider(
    acknowledged: LocalBot, member: str
) -> None:
    bot = acknowledged
    outsider = ask(bot, "status NC-1", OUTSIDER)
    assert outsider == {"text": t("case.hidden", ref="NC-1")}
    assert ask(bot, "status NC-1", member, PARTNER_TEAM) == outsider
    assert ask(bot, "status NC-1", member)["text"] == f"NC-1: {t('state.acknowledged')}"


@pytest.mark.parametrize("member", [OFFICER, REPORTER])
def test_list_from_another_workspace_answers_as_to_an_outsider(
    acknowledged: LocalBot, member: str
) -> None:
    bot = acknowledged
    for scope in ("open", "mine", "all"):
        outsider = ask(bot, f"list {scope}", OUTSIDER)
        assert outsider == {"text": t("list.empty", scope=scope)}, scope
        assert ask(bot, f"list {scope}", member, PARTNER_TEAM) == outsider, scope
        assert "NC-1" in ask(bot, f"list {scope}", member)["text"], scope


def test_export_from_another_workspace_is_refused_as_to_an_outsider(
    acknowledged: LocalBot,
) -> None:
    bot = acknowledged
    uploads = len(bot.standin.calls("files.completeUploadExternal"))
    assert ask(bot, "export NC-1", OUTSIDER) == {"text": t("export.not_allowed")}
    assert ask(bot, "export NC-1", OFFICER, PARTNER_TEAM) == {"text": t("export.not_allowed")}
    assert len(bot.standin.calls("files.completeUploadExternal")) == uploads


def test_the_app_home_opened_from_another_workspace_shows_what_an_outsider_sees(
    acknowledged: LocalBot,
) -> None:
    bot = acknowledged
    settle(bot)  # the refreshes the acknowledgement started would publish the member's Home
    wait_for(bot.services.home.idle, what="App Home refreshes to finish")
    before = publishes(bot, OFFICER)
    response = bot.driver.app_home_opened(OFFICER, team_id=PARTNER_TEAM)
    assert response.status == 200, response.body
    view = published(bot, OFFICER, after=before)
    assert "NC-1" not in home_text(view)
    assert t("home.only_reports") in home_text(view)
    for key in ("approval", "owned", "open", "overdue", "notices"):
        assert section_text(view, key) is None, key

    before = publishes(bot, REPORTER)
    bot.driver.app_home_opened(REPORTER, team_id=PARTNER_TEAM)
    assert "NC-1" not in home_text(published(bot, REPORTER, after=before))

    before = publishes(bot, OFFICER)
    bot.driver.app_home_opened(OFFICER)  # from our own workspace: everything again
    assert "NC-1" in (section_text(published(bot, OFFICER, after=before), "open") or "")
