"""The App Home with hundreds of open cases: within Block Kit's limits at every page size, and
"Show more" lengthens exactly the list it belongs to."""

from __future__ import annotations

from typing import Any

from bench.home import VIEWER, seed_cases
from bot.devkit.local import LocalBot
from bot.devkit.standin import validate_view
from bot.home.views import MAX_BLOCKS, PAGE
from bot.messages import t
from bot.views import ids
from tests.e2e.test_home import opened_home, published, publishes, section_text


def entries(view: dict[str, Any], key: str) -> int:
    """How many case lines a list shows (state headings in the open list are not cases)."""
    text = section_text(view, key) or ""
    return sum(1 for line in text.splitlines() if "|NC-" in line)


def more_buttons(view: dict[str, Any]) -> list[str]:
    return [
        e["value"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("action_id") == ids.HOME_MORE
    ]


def show_more(bot: LocalBot, view_id: str, key: str) -> dict[str, Any]:
    before = publishes(bot, VIEWER)
    response = bot.driver.click_in_view(view_id, ids.HOME_MORE, user=VIEWER, value=key)
    assert response.status == 200, response.body
    return published(bot, VIEWER, after=before)


def test_five_hundred_open_cases_fit_and_show_more_pages_through_them(bot: LocalBot) -> None:
    seed_cases(bot.services.db, bot.workspace, 500, bot.clock())
    view = opened_home(bot, VIEWER)
    assert len(view["blocks"]) <= MAX_BLOCKS and validate_view(view) == []
    assert entries(view, "open") == PAGE
    assert set(more_buttons(view)) >= {"open", "owned", "approval", "overdue", "notices"}
    summary = section_text(view, "open") or ""
    assert f"{t('state.reported')}: " in summary  # counts by state and severity
    assert "; 2 reminders sent" in (section_text(view, "overdue") or "")  # the seeded timers

    view_id = view["id"]
    longer = show_more(bot, view_id, "open")
    assert entries(longer, "open") == 3 * PAGE  # this list only
    assert entries(longer, "owned") == PAGE
    assert validate_view(longer) == [] and len(longer["blocks"]) <= MAX_BLOCKS

    for _ in range(8):  # keep asking for more, in every list: never past the limits
        for key in more_buttons(longer):
            longer = show_more(bot, view_id, key)
            assert validate_view(longer) == [] and len(longer["blocks"]) <= MAX_BLOCKS
    assert entries(longer, "open") > 100


def test_opening_the_home_again_keeps_what_was_expanded(bot: LocalBot) -> None:
    seed_cases(bot.services.db, bot.workspace, 60, bot.clock())
    view = opened_home(bot, VIEWER)
    longer = show_more(bot, view["id"], "open")
    assert entries(longer, "open") == 3 * PAGE
    again = opened_home(bot, VIEWER, after=publishes(bot, VIEWER))
    assert entries(again, "open") == 3 * PAGE
    assert entries(view, "open") == PAGE
