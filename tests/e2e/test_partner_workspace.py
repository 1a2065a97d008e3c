"""A partner channel shared with more than one organisation: when the catalogue names the
partner's own Slack workspace (``team``), only its users — or its listed contacts — can
acknowledge receipt for it; a third organisation's click is recorded and does not count."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import parse_workspace, sample_path
from bot.views import ids
from tests.scenarios import case_events, notice_rows, notices_in, settle, wait_for, walk_to

NORTHWIND = "C0NORTHWND"
NORTHWIND_TEAM = "T0NORTHWND"
NORTHWIND_USER = "U0NORTHWD1"
THIRD_PARTY = "U0PARTNER1"  # of team T0PARTNER1: another workspace, but not Northwind's


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[LocalBot]:
    text = (
        sample_path()
        .read_text()
        .replace(
            "{id: northwind, name: Northwind Bank, role: deployer, channel: C0NORTHWND}",
            f"{{id: northwind, name: Northwind Bank, role: deployer, channel: C0NORTHWND, "
            f"team: {NORTHWIND_TEAM}}}",
        )
    )
    assert NORTHWIND_TEAM in text
    workspace = parse_workspace(text, "shared-channel.yml")
    with LocalBot(
        workspace, database_url=f"sqlite:///{tmp_path / 'bot.db'}", clock=FakeClock()
    ) as local:
        local.standin.add_user(NORTHWIND_USER, team_id=NORTHWIND_TEAM, real_name="Nora Northwind")
        yield local


def press(bot: LocalBot, user: str) -> Any:
    notice = notices_in(bot, NORTHWIND)[0]
    response = bot.driver.click(NORTHWIND, notice.ts, ids.NOTICE_ACK, user=user)
    assert response.status == 200, response.body
    settle(bot)
    return notice_rows(bot)["northwind"]


def test_a_third_organisations_click_is_recorded_but_is_no_receipt(bot: LocalBot) -> None:
    walk_to(bot, "measure_approved")
    wait_for(lambda: notices_in(bot, NORTHWIND), what="the notice to Northwind")

    assert press(bot, THIRD_PARTY).status == "sent"
    assert "notice_click_other_workspace" in [e.kind for e in case_events(bot)]

    acknowledged = press(bot, NORTHWIND_USER)
    assert (acknowledged.status, acknowledged.ack_by, acknowledged.ack_team) == (
        "acknowledged",
        NORTHWIND_USER,
        NORTHWIND_TEAM,
    )
