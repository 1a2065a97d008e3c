"""``python -m bot audit verify [NC-n]`` as an operator runs it: a separate process reading
DATABASE_URL, exit 0 when every chain is intact, 1 when one is broken, 2 for a bad reference."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace
from storage.models import CaseEvent
from tests.scenarios import (
    case_events,
    case_row,
    guided_workspace,
    report,
    settle,
    wait_for,
    walk_to,
)

ROOT = Path(__file__).resolve().parents[2]
EVENTS = CaseEvent.__table__


@pytest.fixture
def workspace() -> Workspace:
    return guided_workspace()


def audit_verify(bot: LocalBot, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "NCBOT_"))}
    env["DATABASE_URL"] = bot.database_url
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", "verify", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def seq_of(bot: LocalBot, kind: str, number: int = 1) -> int:
    return next(e.seq for e in case_events(bot, number) if e.kind == kind)


def test_an_intact_case_exits_0_and_a_tampered_one_exits_1_naming_the_row(
    any_db_bot: LocalBot,
) -> None:
    bot = any_db_bot
    walk_to(bot, "closed")
    n = case_row(bot).event_count

    intact = audit_verify(bot, "NC-1")
    assert (intact.returncode, intact.stderr) == (0, "")
    assert intact.stdout == (
        f"NC-1: ok ({n} events, chain intact)\n"
        "checkpoints: none — the chains are not anchored outside the database (AUDIT_KEY)\n"
        "1 case(s) checked, 0 broken\n"
    )

    approved, case_id = seq_of(bot, "approve"), case_row(bot).id
    with bot.services.db.engine.begin() as connection:
        connection.execute(
            update(EVENTS)
            .where(EVENTS.c.case_id == case_id, EVENTS.c.seq == approved)
            .values(payload={"kind": "approve", "note": "rewritten"})
        )

    broken = audit_verify(bot, "NC-1")
    assert broken.returncode == 1, broken.stderr
    assert broken.stdout.splitlines()[0].startswith(f"NC-1: BROKEN at event {approved}: changed")
    assert broken.stdout.endswith("1 case(s) checked, 1 broken\n")


def test_without_a_reference_every_case_is_checked(bot: LocalBot) -> None:
    walk_to(bot, "acknowledged")
    assert report(bot).status == 200
    wait_for(lambda: case_row(bot, 2).card_ts, what="the second card")
    settle(bot)
    second = case_row(bot, 2)
    with bot.services.db.engine.begin() as connection:
        connection.execute(
            delete(EVENTS).where(EVENTS.c.case_id == second.id, EVENTS.c.seq == second.event_count)
        )

    result = audit_verify(bot)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("NC-1: ok (")
    assert lines[1].startswith(f"NC-2: BROKEN at event {second.event_count}: tail_removed")
    assert lines[-1] == "2 case(s) checked, 1 broken"


@pytest.mark.parametrize(
    ("ref", "message"),
    [("NC-9", "there is no case NC-9"), ("case one", "'case one' is not a case reference")],
)
def test_a_bad_reference_is_one_line_and_exit_2(bot: LocalBot, ref: str, message: str) -> None:
    walk_to(bot, "reported")
    result = audit_verify(bot, ref)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and message in result.stderr
