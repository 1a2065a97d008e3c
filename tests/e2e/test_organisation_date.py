"""Today is the date where the organisation works (the sample workspace: Europe/Amsterdam), not
UTC's: between 23:00 and midnight UTC in winter, Amsterdam is already on the next day. Each place a
person meets "today" — the date a modal offers, the refusal of a date to come or gone, whether the
App Home calls an Art. 73 report late — is checked at such a moment, where UTC's date would differ.
A target date of the organisation's yesterday refused as past: ``test_step_refusals``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from tests.e2e.test_home import opened_home, publishes, section_text
from tests.scenarios import (
    ASSESSMENT,
    OFFICER,
    SERIOUS_ASSESSMENT,
    assessed,
    case_row,
    open_step_modal,
    settle,
    wait_for,
    walk_to,
)

# 30 November, 23:30 UTC: already 1 December, 00:30, in Amsterdam.
LATE_EVENING_UTC = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


def initial_date(view: dict[str, Any], block_id: str) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == block_id)
    return str(block["element"]["initial_date"])


@pytest.fixture
def confirm_modal(bot: LocalBot, clock: FakeClock) -> dict[str, Any]:
    """An acknowledged case's Confirm modal, opened at 00:30 in Amsterdam."""
    walk_to(bot, "acknowledged")
    clock.now = LATE_EVENING_UTC
    return open_step_modal(bot, "case_confirm", OFFICER)


def test_the_assessment_modal_offers_today_where_the_organisation_works(
    confirm_modal: dict[str, Any],
) -> None:
    assert initial_date(confirm_modal, "aware_on") == "2026-12-01"


def test_awareness_on_the_organisations_today_is_not_refused_as_still_to_come(
    bot: LocalBot, confirm_modal: dict[str, Any]
) -> None:
    """In UTC it is still 30 November, so 1 December would be a date to come."""
    view = confirm_modal
    response = bot.driver.submit(
        view["id"], user=OFFICER, values={**ASSESSMENT, "aware_on": "2026-12-01"}
    )
    assert (response.status, response.body) == (200, b""), response.body
    wait_for(lambda: case_row(bot).state == "confirmed", what="the confirmation")


def test_the_app_home_calls_an_art73_report_late_once_its_day_has_ended_in_amsterdam(
    bot: LocalBot, clock: FakeClock
) -> None:
    """Aware on 29 November, health harm: due 14 December, late from midnight in Amsterdam,
    which is 23:00 UTC — while UTC's date is still the 14th."""
    assessed(bot, SERIOUS_ASSESSMENT)
    clock.now = datetime(2026, 12, 14, 22, 30, tzinfo=UTC)  # 23:30 in Amsterdam: still on time
    view = opened_home(bot, OFFICER, after=publishes(bot, OFFICER))
    assert "Art. 73 report due 2026-12-14" in (section_text(view, "overdue") or "")

    clock.now = datetime(2026, 12, 14, 23, 30, tzinfo=UTC)  # 00:30 on the 15th in Amsterdam
    settle(bot)
    view = opened_home(bot, OFFICER, after=publishes(bot, OFFICER))
    assert "Art. 73 report overdue since 2026-12-14" in (section_text(view, "overdue") or "")
