"""Time of one escalation sweep with 100, 10 000 and 100 000 open cases, of which 100 are due.

On PostgreSQL, in a fresh database created (and dropped) by this script. Cases, their pending
escalation timers and some history (three sent outbox rows a case) are bulk-inserted with SQL;
the 100 due timers belong to the first 100 cases, the others fall due tomorrow. Two figures:

- **claim**: the claim query alone (``storage.timers.claim_due``: ``SELECT … FOR UPDATE SKIP
  LOCKED`` + conditional ``UPDATE`` of the 100 due rows), in a transaction rolled back each time;
- **sweep**: one ``bot.scheduler.sweep`` as the scheduler runs it: ``TimerEngine.fire_due`` (claim,
  re-check each case, queue the messages, audit event, advance) then outbox delivery to a Slack
  stand-in over HTTP (per case: 2 DMs with ``conversations.open``, a thread line, a card update).

Between repetitions the 100 due timers are put back to their first level and what the previous
sweep wrote (outbox rows, audit events) is deleted. The EXPLAIN of the claim query is printed for
the largest size.

    .venv/bin/python bench/sweep.py                  # 100, 10 000, 100 000 open cases
    .venv/bin/python bench/sweep.py --sizes 100 1000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from slack_sdk import WebClient
from sqlalchemy import create_engine, or_, select, text

from bot.cases.domain import Severity
from bot.cases.state import list_order
from bot.devkit.local import seed
from bot.devkit.standin import SlackStandIn
from bot.ops.runtime import start_runtime
from bot.ops.settings import Settings
from bot.ops.workspace import load_workspace, sample_path
from bot.services import Services
from bot.timers.policy import freeze
from bot.timers.scheduler import sweep
from storage import timers as timer_rows
from storage.models import Timer

ADMIN_URL = os.environ.get("NCBOT_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DUE = 100


def create_database() -> str:
    name = f"ncbot_bench_{uuid.uuid4().hex[:10]}"
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


DETAILS = '{"permalink": "https://standin.slack.com/archives/C0TRIAGE01/p1"}'


def grow(services: Services, first: int, last: int, card_ts: str, now: datetime) -> None:
    """Insert open cases ``first..last`` with a pending escalation timer each (due now for the
    first ``DUE`` cases, tomorrow for the rest) and three sent outbox rows each."""
    workspace = services.workspace
    policy = workspace.escalation.policy_for(Severity.HIGH)
    assert policy is not None
    frozen = freeze(policy, timezone=workspace.timezone, critical=False)
    params = {
        "first": first,
        "last": last,
        "now": now,
        "due": now - timedelta(minutes=1),
        "later": now + timedelta(days=1),
        "reported": now - timedelta(hours=1),
        "card_ts": card_ts,
        "policy": json.dumps(frozen),
        "details": DETAILS,
        "due_count": DUE,
        # Case.list_order of a reported high case, less its number (bot.case_state.list_order).
        "order_base": list_order("reported", "high", 0),
    }
    with services.db.transaction() as session:
        session.execute(
            text(
                """
                INSERT INTO cases (number, submission_key, system_id, system_version, title,
                    description, requirements, risk, severity, evidence_url, reporter_id,
                    reporter_team, state, version, owner_id, language, channel, card_ts,
                    reported_at, updated_at, event_count, head_hash, details, list_order)
                SELECT n, 'bench-' || n, 'credit-scoring', '2.3', 'Case ' || n, 'Benchmark case',
                    '[]'::json, 'yes', 'high', NULL, 'U0REPORTR1', 'T0TEAM0001', 'reported', 1,
                    NULL, 'en', 'C0TRIAGE01', :card_ts, :reported, :reported, 0, NULL,
                    CAST(:details AS json), :order_base - n
                FROM generate_series(CAST(:first AS int), CAST(:last AS int)) AS n
                """
            ),
            params,
        )
        session.execute(
            text(
                """
                INSERT INTO timers (key, case_id, kind, policy, anchor_at, level, repeat, due_at,
                    status, claimed_until, fired, last_fired_at, created_at)
                SELECT 'escalation:' || c.id || ':' || 1, c.id, 'escalation', CAST(:policy AS json),
                    c.reported_at, 0, 0,
                    CASE WHEN c.number <= :due_count THEN :due ELSE :later END,
                    'pending', NULL, 0, NULL, :now
                FROM cases c WHERE c.number BETWEEN :first AND :last
                """
            ),
            params,
        )
        session.execute(
            text(
                """
                INSERT INTO outbox (dedupe_key, kind, target, case_id, in_thread, payload, status,
                    not_before, attempts, created_at, sent_at, slack_channel, slack_ts)
                SELECT 'hist:' || c.id || ':' || k, 'thread', 'C0TRIAGE01', c.id, true,
                    '{}'::json, 'sent', c.reported_at, 1, c.reported_at, c.reported_at,
                    'C0TRIAGE01', :card_ts
                FROM cases c CROSS JOIN generate_series(1, 3) AS k
                WHERE c.number BETWEEN :first AND :last
                """
            ),
            params,
        )
    with services.db.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def reset(services: Services, now: datetime) -> None:
    """Put the due timers back on level 1 and forget what the last sweep wrote."""
    with services.db.transaction() as session:
        ids = "SELECT id FROM cases WHERE number <= :due_count"
        args = {"due_count": DUE, "due": now - timedelta(minutes=1)}
        session.execute(
            text(
                f"UPDATE timers SET level = 0, repeat = 0, status = 'pending', due_at = :due,"
                f" claimed_until = NULL, fired = 0, last_fired_at = NULL WHERE case_id IN ({ids})"
            ),
            args,
        )
        session.execute(
            text(f"DELETE FROM outbox WHERE case_id IN ({ids}) AND dedupe_key NOT LIKE 'hist:%'"),
            args,
        )
        session.execute(text(f"DELETE FROM case_events WHERE case_id IN ({ids})"), args)
        session.execute(
            text(f"UPDATE cases SET event_count = 0, head_hash = NULL WHERE id IN ({ids})"), args
        )
        # The firing put a reminders panel in the case's details (its post deleted above):
        # back to the details the case was inserted with, so every sweep is a first firing.
        session.execute(
            text(f"UPDATE cases SET details = CAST(:details AS json) WHERE id IN ({ids})"),
            {**args, "details": DETAILS},
        )


def time_claim(services: Services, repeat: int) -> float:
    samples = []
    reset(services, datetime.now(UTC))
    for _ in range(repeat):
        session = services.db._sessions()  # a transaction rolled back: the claim leaves no trace
        try:
            started = time.perf_counter()
            claimed = timer_rows.claim_due(
                session, now=datetime.now(UTC), lease=timedelta(seconds=60), limit=DUE
            )
            samples.append(time.perf_counter() - started)
            assert len(claimed) == DUE, len(claimed)
        finally:
            session.rollback()
            session.close()
    return statistics.median(samples)


def time_sweep(services: Services, standin: SlackStandIn, repeat: int) -> tuple[float, int]:
    samples = []
    calls = 0
    for _ in range(repeat):
        reset(services, datetime.now(UTC))
        before = len(standin.calls())
        started = time.perf_counter()
        sweep(services)
        samples.append(time.perf_counter() - started)
        calls = len(standin.calls()) - before
        with services.db.transaction() as session:
            fired = session.scalar(
                text("SELECT count(*) FROM case_events WHERE kind = 'escalated'")
            )
        assert fired == DUE, fired
    return statistics.median(samples), calls


def explain(services: Services) -> str:
    """The claim's candidate query exactly as ``storage.leases.claim_due`` builds it."""
    now = datetime.now(UTC)
    reset(services, now)
    entity: Any = Timer
    query = (
        select(entity.id)
        .where(
            entity.status == "pending",
            entity.due_at <= now,
            or_(entity.claimed_until.is_(None), entity.claimed_until < now),
        )
        .order_by(entity.due_at, entity.id)
        .limit(DUE)
        .with_for_update(skip_locked=True)
    )
    sql = str(
        query.compile(dialect=services.db.engine.dialect, compile_kwargs={"literal_binds": True})
    )
    with services.db.engine.connect() as connection:
        plan = connection.execute(text("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)).all()
        connection.rollback()
    return sql + "\n\n" + "\n".join(row[0] for row in plan)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="sweeps per size (median)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    workspace = load_workspace(sample_path())
    url = create_database()
    standin = SlackStandIn().start()
    rows: list[tuple[int, float, float, float, int]] = []
    try:
        seed(standin, workspace)
        # One card the bot posted, as the parent of every case's thread (updates must work).
        card_ts = str(
            WebClient(token=standin.settings.bot_token, base_url=standin.api_url).chat_postMessage(
                channel="C0TRIAGE01", text="benchmark case card"
            )["ts"]
        )
        settings = Settings(
            SLACK_BOT_TOKEN=SecretStr(standin.settings.bot_token),
            SLACK_SIGNING_SECRET=SecretStr("bench"),
            SLACK_API_URL=standin.api_url,
            DATABASE_URL=url,
        )
        services = start_runtime(settings, workspace=workspace).services
        have = 0
        for size in sorted(args.sizes):
            started = time.perf_counter()
            grow(services, have + 1, size, card_ts, datetime.now(UTC))
            have = size
            setup = time.perf_counter() - started
            claim = time_claim(services, max(args.repeat, 10))
            whole, calls = time_sweep(services, standin, args.repeat)
            rows.append((size, setup, claim, whole, calls))
            print(
                f"{size:>7} open cases: claim {claim * 1000:7.2f} ms, sweep {whole * 1000:8.1f} ms"
                f" ({calls} Slack calls), setup {setup:.1f} s",
                flush=True,
            )
        print()
        print("EXPLAIN of the claim query at", f"{have:,}", "open cases:")
        print(explain(services))
        print()
        print("| open cases | due | claim (median) | whole sweep (median) | Slack calls a sweep |")
        print("|---:|---:|---:|---:|---:|")
        for size, _setup, claim, whole, calls in rows:
            print(f"| {size:,} | {DUE} | {claim * 1000:.2f} ms | {whole * 1000:.0f} ms | {calls} |")
        print()
        print(
            f"Machine: {os.cpu_count()} CPUs, {platform.python_implementation()} "
            f"{platform.python_version()}, {platform.platform()}"
        )
        services.db.dispose()
    finally:
        standin.stop()
        drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
