"""Two bot processes on one PostgreSQL database, both sweeping every second, fire every
escalation level (and every repeat) exactly once in total: claims are leases taken with
``FOR UPDATE SKIP LOCKED``, committed before anything is sent.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from tests.conftest import drop_postgres, postgres_url
from tests.scenarios import (
    ADMIN,
    OFFICER,
    PATIENCE,
    TRIAGE,
    ServeProcess,
    report,
    wait_for,
    write_workspace,
)

pytestmark = pytest.mark.postgres

MANAGERS = "C0MANAGERS"
CASES = 4
ESCALATION = {
    "sweep_interval": "1s",
    "policies": {
        "default": [
            {"after": "2s", "notify": [OFFICER]},
            {
                "after": "4s",
                "notify": [ADMIN, MANAGERS],
                "repeat": {"every": "1s", "max": 2},
            },
        ]
    },
}
EXPECTED = [(1, 0), (2, 0), (2, 1), (2, 2)]  # per case: level 1, level 2 and its two repeats


def refs(messages: list[Any]) -> Counter[str]:
    """How many escalation messages name each case."""
    found: Counter[str] = Counter()
    for m in messages:
        for n in range(1, CASES + 1):
            if m.text.startswith("⏰") and f"|NC-{n}>" in m.text:
                found[f"NC-{n}"] += 1
    return found


def escalated(database_url: str) -> dict[int, list[tuple[int, int]]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT c.number, e.payload FROM case_events e JOIN cases c ON c.id = e.case_id"
                    " WHERE e.kind = 'escalated' ORDER BY c.number, e.seq"
                )
            ).all()
    finally:
        engine.dispose()
    out: dict[int, list[tuple[int, int]]] = {}
    for number, payload in rows:
        out.setdefault(number, []).append((payload["data"]["level"], payload["data"]["repeat"]))
    return out


def test_two_replicas_fire_every_level_exactly_once_in_total(tmp_path: Path) -> None:
    config = tmp_path / "workspace.yml"
    workspace = write_workspace(config, ESCALATION)
    database_url = postgres_url()
    replicas: list[ServeProcess] = []
    try:
        with SlackStandIn() as standin:
            seed(standin, workspace)
            replicas = [
                ServeProcess(
                    standin, database_url=database_url, config=config, log=tmp_path / f"r{i}.log"
                )
                for i in (1, 2)
            ]
            try:
                replicas[0].start()  # migrates the fresh database
                replicas[1].start()
                for n in range(CASES):  # reported through either replica
                    bot = SimpleNamespace(driver=replicas[n % 2].driver, standin=standin)
                    assert report(bot).status == 200
                last_report = time.monotonic()
                wait_for(
                    lambda: len([m for m in standin.messages(TRIAGE) if not m.is_reply]) == CASES,
                    what="every case card",
                )
                # Level 2 at 4 s, repeats at about 5 s and 6 s; then two idle sweeps each.
                time.sleep(max(0.0, 9.0 - (time.monotonic() - last_report)))
                wait_for(
                    lambda: (
                        all(len(v) == len(EXPECTED) for v in escalated(database_url).values())
                        and len(escalated(database_url)) == CASES
                    ),
                    timeout=PATIENCE,
                    what="every level of every case",
                )
                time.sleep(2.0)
            finally:
                for replica in replicas:
                    replica.kill()
            cases = [f"NC-{n}" for n in range(1, CASES + 1)]
            assert refs(standin.messages(OFFICER)) == dict.fromkeys(cases, 1)
            assert refs(standin.messages(ADMIN)) == dict.fromkeys(cases, 3)
            assert refs(standin.messages(MANAGERS)) == dict.fromkeys(cases, 3)
            lines = Counter(
                m.text.split("*")[1]
                for m in standin.messages(TRIAGE)
                if m.is_reply and "*Escalation level" in m.text
            )
            # One line per case in the thread, kept current: its last firing.
            assert lines == {"Escalation level 2": CASES}
            assert escalated(database_url) == {n: EXPECTED for n in range(1, CASES + 1)}
            # Neither replica failed while the other held claims.
            logs = [(tmp_path / f"r{i}.log").read_text(encoding="utf-8") for i in (1, 2)]
            assert all("Traceback" not in log for log in logs), logs
    finally:
        drop_postgres(database_url)
