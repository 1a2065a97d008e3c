"""A bot killed with SIGKILL before an escalation is due, restarted on the same database, fires
that escalation exactly once: what is due lives in the database, not in the process.

Real processes, real time (seconds): ``nonconformity-bot serve`` sweeps every second; level 1 is
due 4 s after the report, level 2 after 8 s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import create_engine, text

from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from tests.scenarios import (
    ADMIN,
    OFFICER,
    PATIENCE,
    TRIAGE,
    ServeProcess,
    expire_leases,
    report,
    wait_for,
    write_workspace,
)

MANAGERS = "C0MANAGERS"
ESCALATION = {
    "sweep_interval": "1s",
    "policies": {
        "default": [
            {"after": "4s", "notify": [OFFICER]},
            {"after": "8s", "notify": [ADMIN, MANAGERS]},
        ]
    },
}


def escalation_dms(standin: SlackStandIn, user: str) -> list[Any]:
    return [m for m in standin.messages(user) if m.text.startswith("⏰") and "NC-1" in m.text]


def thread_lines(standin: SlackStandIn, level: int) -> list[Any]:
    return [
        m
        for m in standin.messages(TRIAGE)
        if m.is_reply and f"*Escalation level {level}*" in m.text
    ]


def escalated(database_url: str) -> list[tuple[int, int]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT payload FROM case_events WHERE kind = 'escalated' ORDER BY seq")
            ).all()
    finally:
        engine.dispose()
    payloads = [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in rows]
    return [(p["data"]["level"], p["data"]["repeat"]) for p in payloads]


def test_a_level_due_while_the_bot_was_killed_fires_once_after_restart(tmp_path: Path) -> None:
    config = tmp_path / "workspace.yml"
    workspace = write_workspace(config, ESCALATION)
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    with SlackStandIn() as standin:
        seed(standin, workspace)
        first = ServeProcess(
            standin, database_url=database_url, config=config, log=tmp_path / "serve.log"
        )
        second = ServeProcess(
            standin, database_url=database_url, config=config, log=tmp_path / "serve.log"
        )
        try:
            first.start()
            reported_at = time.monotonic()
            response = report(SimpleNamespace(driver=first.driver, standin=standin))
            assert response.status == 200, response.body
            wait_for(
                lambda: [m for m in standin.messages(TRIAGE) if not m.is_reply],
                what="the case card",
            )
            first.kill()
            expire_leases(database_url)  # what the lease's minute would do for the dead process
            killed_after = time.monotonic() - reported_at
            assert killed_after < 3.5, f"killed {killed_after:.1f}s after the report: too late"
            assert escalation_dms(standin, OFFICER) == []

            # Level 1 falls due while nobody runs; the bot comes back a second later.
            time.sleep(max(0.0, 5.0 - (time.monotonic() - reported_at)))
            assert escalation_dms(standin, OFFICER) == []
            second.start()
            wait_for(lambda: escalation_dms(standin, OFFICER), timeout=PATIENCE, what="level 1")
            wait_for(lambda: escalation_dms(standin, ADMIN), timeout=PATIENCE, what="level 2")
            time.sleep(2.5)  # two more sweeps: nothing fires again
        finally:
            first.kill()
            second.kill()
        assert len(escalation_dms(standin, OFFICER)) == 1
        assert len(escalation_dms(standin, ADMIN)) == 1
        assert len([m for m in standin.messages(MANAGERS) if "NC-1" in m.text]) == 1
        # One thread line, kept current: it now says level 2.
        assert len(thread_lines(standin, 1)) == 0
        assert len(thread_lines(standin, 2)) == 1
        assert escalated(database_url) == [(1, 0), (2, 0)]
