"""The App Home, end to end: published when opened, refreshed when a case the viewer is involved
in changes, and the same visibility rule as ``list`` and ``status``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.devkit.local import LocalBot
from bot.devkit.standin import validate_view
from bot.messages import t
from bot.ops.workspace import Workspace
from tests.scenarios import (
    APPROVER,
    APPROVER2,
    ASSESSMENT,
    MEASURE_PLAN,
    OFFICER,
    OFFICER2,
    REPORTER,
    case_row,
    decide,
    guided_workspace,
    settle,
    wait_for,
    walk_to,
)


@pytest.fixture
def workspace() -> Workspace:
    return guided_workspace()


def home_text(view: dict[str, Any]) -> str:
    """Everything a person reads on the Home tab, in order."""
    out: list[str] = []
    for block in view.get("blocks", []):
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            out.append(text["text"] if isinstance(text, dict) else str(text or ""))
    return "\n".join(out)


def section_text(view: dict[str, Any], key: str, lang: str = "en") -> str | None:
    """The text under one list's header, up to the next header; None when the list is absent."""
    title = t(f"home.section.{key}", lang)
    inside, found, out = False, False, []
    for block in view.get("blocks", []):
        if block["type"] == "header":
            inside = block["text"]["text"] == title
            found = found or inside
            continue
        if inside and "text" in block:
            out.append(block["text"]["text"])
        if inside and block["type"] == "context":
            out += [e.get("text", "") for e in block["elements"]]
    return "\n".join(out) if found else None


def opened_home(bot: LocalBot, user: str, *, after: int = 0) -> dict[str, Any]:
    """Open the Home tab as ``user`` and return what the bot published (newer than ``after``
    publishes to that user)."""
    response = bot.driver.app_home_opened(user)
    assert response.status == 200, response.body
    return published(bot, user, after=after)


def publishes(bot: LocalBot, user: str) -> int:
    return len([c for c in bot.standin.calls("views.publish") if c.args.get("user_id") == user])


def published(bot: LocalBot, user: str, *, after: int = 0) -> dict[str, Any]:
    wait_for(lambda: publishes(bot, user) > after, what=f"views.publish for {user}")
    view = bot.standin.published_home(user)
    assert view is not None
    assert validate_view(view) == []
    return view


def test_an_approver_sees_the_case_waiting_for_them_with_a_link_to_its_thread(
    bot: LocalBot,
) -> None:
    walk_to(bot, "measure_proposed")
    case = case_row(bot)
    view = opened_home(bot, APPROVER, after=publishes(bot, APPROVER))
    waiting = section_text(view, "approval")
    assert waiting is not None and "NC-1" in waiting and "Scores drift" in waiting
    assert f"<{case.details.permalink}|NC-1>" in waiting
    # the same case is among everything open, under its state
    everything = section_text(view, "open") or ""
    assert t("state.measure_proposed") in everything and "NC-1" in everything


def test_the_proposer_is_not_asked_to_approve_their_own_measure(bot: LocalBot) -> None:
    walk_to(bot, "measure_proposed")
    view = opened_home(bot, OFFICER, after=publishes(bot, OFFICER))
    assert section_text(view, "approval") is None  # triage, not an approver
    owned = section_text(view, "owned") or ""
    assert "NC-1" in owned  # OFFICER acknowledged the case: they own it
    measure_owner = opened_home(bot, OFFICER2, after=publishes(bot, OFFICER2))
    assert t("home.measure_owner") in (section_text(measure_owner, "owned") or "")


def test_the_home_follows_the_case_without_being_opened_again(bot: LocalBot) -> None:
    walk_to(bot, "measure_proposed")
    opened_home(bot, APPROVER2, after=publishes(bot, APPROVER2))
    before = publishes(bot, APPROVER2)
    decide(bot, "measure_approve", APPROVER)
    # the approval left the other approver's list, though they never reopened the tab
    view = wait_for(
        lambda: (lambda v: v if "NC-1" not in (section_text(v, "approval") or "") else None)(
            published(bot, APPROVER2, after=before)
        ),
        what="the approvers' Home refreshed",
    )
    assert t("home.empty") in (section_text(view, "approval") or "")


def test_a_home_refresh_answered_429_is_published_after_retry_after_not_dropped(
    bot: LocalBot,
) -> None:
    walk_to(bot, "measure_proposed")
    opened_home(bot, APPROVER2, after=publishes(bot, APPROVER2))
    before = len(bot.standin.calls("views.publish"))
    bot.standin.inject("views.publish", retry_after=1)
    decide(bot, "measure_approve", APPROVER)
    gate = bot.services.home.client.gate  # type: ignore[attr-defined]
    wait_for(lambda: gate.remaining("views.publish") > 0, what="the client to hold publishing")
    bot.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    [refused] = [c for c in bot.standin.calls("views.publish")[before:] if c.status == 429]
    user = refused.args["user_id"]

    def published_again() -> bool:
        calls = bot.standin.calls("views.publish")[before:]
        return any(
            c.status == 200 and c.at > refused.at and c.args["user_id"] == user for c in calls
        )

    wait_for(published_again, timeout=15, what=f"{user}'s Home published after the 429")
    settle(bot)
    wait_for(bot.services.home.idle, what="no refresh waiting")
    # the refused person's Home is what the bot would show now: not dropped, not stale
    assert bot.standin.published_home(user)["blocks"] == bot.services.home.view(user)["blocks"]  # type: ignore[index]
    approver2 = bot.standin.published_home(APPROVER2) or {}
    assert t("home.empty") in (section_text(approver2, "approval") or "")
    calls = bot.standin.calls("views.publish")[before:]
    assert [c.status for c in calls].count(429) == 1  # none was sent into the wall
    # none after it before Retry-After (1 s), bar one already on its way (two publish at once)
    waited = [c.at - refused.at for c in calls if c.at - refused.at > 0.1]
    assert waited and min(waited) >= 0.9


def test_someone_without_a_role_sees_only_their_own_reports(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    view = opened_home(bot, REPORTER, after=publishes(bot, REPORTER))
    text = home_text(view)
    assert "NC-1" in (section_text(view, "reports") or "")
    assert t("home.only_reports") in text
    for key in ("approval", "owned", "open", "overdue", "notices"):
        assert section_text(view, key) is None, key
    outsider = opened_home(bot, "U0REPORTR2")
    assert "NC-1" not in home_text(outsider)


def test_the_messages_tab_publishes_nothing(bot: LocalBot) -> None:
    response = bot.driver.event(
        {"type": "app_home_opened", "user": OFFICER, "channel": "D0X", "tab": "messages"}
    )
    assert response.status == 200
    bot.driver.app_home_opened(APPROVER)  # a later event is handled: the first one was skipped
    wait_for(lambda: publishes(bot, APPROVER), what="the Home tab")
    assert publishes(bot, OFFICER) == 0


def test_list_takes_a_system_and_keeps_the_visibility_rule(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")

    def ask(text: str, user: str = OFFICER) -> str:
        response = bot.driver.command("/nonconformity", text, user=user, channel="C0GENERAL1")
        assert response.status == 200, response.body
        if response.headers.get("Content-Type", "").startswith("application/json"):
            return str(response.json()["text"])
        return response.text

    assert "NC-1" in ask("list all credit-scoring")
    assert "NC-1" in ask("list credit-scoring")  # the scope defaults to open
    assert ask("list all cv-screening") == t("list.empty", scope="all")
    assert ask("list open nosuch") == t("list.unknown_system", system="nosuch")
    assert ask("list nosuch") == t("list.usage")
    assert "NC-1" in ask("list mine credit-scoring", REPORTER)
    assert ask("list all credit-scoring", "U0REPORTR2") == t("list.empty", scope="all")


def test_a_spent_escalation_stops_counting_as_overdue_once_the_case_is_acknowledged(
    bot: LocalBot,
) -> None:
    """An escalation whose every level has fired stays ``done``; acknowledging ends the wait it
    measured, so it leaves the overdue list and its count (it once stayed in the count)."""
    from datetime import timedelta

    from storage.models import Timer
    from tests.scenarios import case_row, walk_to

    walk_to(bot, "reported")
    case = case_row(bot)
    now = bot.clock()
    with bot.services.db.transaction() as session:
        session.add(
            Timer(
                key=f"escalation:{case.id}:spent",
                case_id=case.id,
                kind="escalation",
                policy={},
                anchor_at=now - timedelta(hours=2),
                level=3,
                repeat=0,
                due_at=now,
                status="done",
                fired=3,
                last_fired_at=now,
                created_at=now - timedelta(hours=2),
            )
        )
    waiting = bot.services.home.data(OFFICER).sections
    overdue = next(s for s in waiting if s.key == "overdue")
    assert (len(overdue.entries), overdue.total) == (1, 1)
    walk_to(bot, "acknowledged")
    after = next(s for s in bot.services.home.data(OFFICER).sections if s.key == "overdue")
    assert (len(after.entries), after.total) == (0, 0)


def test_a_home_follows_its_cases_only_while_it_is_looked_at(bot: LocalBot) -> None:
    """A change publishes the Home of the people involved only if they opened it in the last
    12 hours; opening it (``app_home_opened``) always publishes it fresh (issue 23: a Home
    nobody looks at is not worth a ``views.publish``)."""
    walk_to(bot, "acknowledged")
    wait_for(bot.services.home.idle, what="no refresh waiting")
    assert publishes(bot, REPORTER) == 0  # never opened: the case's changes published nothing

    opened = opened_home(bot, REPORTER)
    assert t("state.acknowledged") in (section_text(opened, "reports") or "")
    decide(bot, "case_confirm", OFFICER, ASSESSMENT)
    followed = published(bot, REPORTER, after=1)  # opened lately: it follows the case
    assert t("state.confirmed") in (section_text(followed, "reports") or "")

    bot.clock.advance(timedelta(hours=12, minutes=1))  # type: ignore[attr-defined]
    before = publishes(bot, REPORTER)
    decide(bot, "measure_choose_withdraw", OFFICER, MEASURE_PLAN)
    settle(bot)
    wait_for(bot.services.home.idle, what="no refresh waiting")
    assert publishes(bot, REPORTER) == before  # not looked at for 12 hours: not published

    again = opened_home(bot, REPORTER, after=before)  # opening it shows the case as it is now
    assert t("state.measure_proposed") in (section_text(again, "reports") or "")


def test_a_role_members_open_home_follows_every_open_case(bot: LocalBot) -> None:
    """Members of the roles see every open case: their Home, opened lately, follows a case
    they are not involved in, so it is current whenever they look (the burst benchmark found
    one stale)."""
    walk_to(bot, "reported")
    opened = opened_home(bot, APPROVER2)
    assert t("state.reported") in (section_text(opened, "open") or "")
    before = publishes(bot, APPROVER2)
    decide(bot, "case_acknowledge", OFFICER)  # APPROVER2 is neither owner nor reporter
    followed = published(bot, APPROVER2, after=before)
    assert t("state.acknowledged") in (section_text(followed, "open") or "")
