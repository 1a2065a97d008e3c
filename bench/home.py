"""Render the App Home with many open cases: Block Kit limits and our own time.

Seeds a fresh database (SQLite in a temporary file by default, or ``--database-url``) with N
open cases spread over every open state and severity, with the extras the Home lists: measures
waiting for approval (proposed by someone else), cases owned by the viewer, fired escalation and
reminder timers, Art. 73 deadlines (some late) and partner notices without receipt. Then, as an
approver (who sees every list), times ``Home.data`` (the queries, one read snapshot) and
``home_view`` (the pure Block Kit rendering) separately, with the default page and with every
list expanded to its maximum, and checks each view with the stand-in's Block Kit validator.
Slack's own time (``views.publish``) is not measured: it is not ours.

    .venv/bin/python bench/home.py                         # 500 open cases, 20 rounds
    .venv/bin/python bench/home.py --cases 500 5000 --repeat 10
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

from bot.cases.service import OPEN_STATES
from bot.cases.state import CaseDetails, CorrectiveMeasure
from bot.devkit.standin import validate_view
from bot.home.service import Home
from bot.home.views import MAX_PAGE, SECTION_KEYS, home_view
from bot.ops.catalogue import sync_catalogue
from bot.ops.workspace import Workspace, load_workspace, sample_path
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Case, PartnerNotice, Timer

VIEWER = "U0APPROVE1"  # an approver: every list of the Home applies
SEVERITIES = ("low", "medium", "high", "critical")
PARTNERS = (("acme-dist", "distributor"), ("northwind", "deployer"), ("eu-import", "importer"))


def seed_cases(db: Database, workspace: Workspace, count: int, now: datetime) -> None:
    """``count`` open cases with measures, owners, fired timers, deadlines and notices."""
    sync_catalogue(db, workspace.catalogue)
    states = [s for s in OPEN_STATES]
    aware = (now - timedelta(days=20)).date()
    with db.transaction() as session:
        cases = []
        for n in range(1, count + 1):
            state = states[n % len(states)]
            details: dict[str, Any] = {
                "permalink": f"https://example.slack.com/archives/C0TRIAGE01/p{1700000000 + n}"
            }
            measure: dict[str, Any] | None = None
            if state not in ("reported", "acknowledged"):
                incident = "a_health" if n % 7 == 0 else "none"
                details["assessment"] = {
                    "nature": "Accuracy below the declared level.",
                    "causal_link": "Retraining data drift.",
                    "risk": "yes" if n % 3 == 0 else "no",
                    "serious_incident": incident,
                    "aware_on": (aware + timedelta(days=n % 30)).isoformat(),
                    "by": "U0OFFICER1",
                    "at": now.isoformat(),
                }
            if state in ("measure_proposed", "measure_approved", "measure_done"):
                measure = {
                    "measure": "withdraw",
                    "plan": "Pull version 2.3.",
                    "owner": VIEWER if n % 5 == 0 else "U0OFFICER2",
                    "target_date": date(2027, 1, 15).isoformat(),
                    "affected": "2.3",
                    "keeps_running": "no",
                    "proposer": "U0OFFICER1",
                    "proposed_at": now.isoformat(),
                    "approvals": [],
                }
            cases.append(
                Case(
                    number=n,
                    submission_key=f"bench-home-{n}",
                    system_id="credit-scoring",
                    system_version="2.3",
                    title=f"Benchmark case {n}: approval rates drift for older applicants",
                    description="Benchmark case",
                    requirements=["art10", "art15"],
                    risk="yes",
                    severity=SEVERITIES[n % len(SEVERITIES)],
                    evidence_url=None,
                    reporter_id="U0REPORTR1" if n % 4 else VIEWER,
                    reporter_team="T0TEAM0001",
                    state=state,
                    version=1,
                    owner_id=None if state == "reported" else ("U0OFFICER1", VIEWER)[n % 2],
                    language="en",
                    channel="C0TRIAGE01",
                    card_ts=f"{1700000000 + n}.000100",
                    reported_at=now - timedelta(hours=n),
                    updated_at=now,
                    event_count=0,
                    details=CaseDetails.model_validate(details),
                )
            )
            if measure is not None:
                cases[-1].add_measure(CorrectiveMeasure.model_validate(measure))
        session.add_all(cases)
        session.flush()
        for case in cases:
            if case.number % 3 == 0 and case.state in ("reported", "measure_proposed"):
                kind = "escalation" if case.state == "reported" else "approval_pending"
                session.add(_timer(case, kind, now))
            if case.state in ("measure_approved", "measure_done") and case.number % 2 == 0:
                for partner_id, role in PARTNERS:
                    session.add(_notice(case, partner_id, role, now))


def _timer(case: Case, kind: str, now: datetime) -> Timer:
    return Timer(
        key=f"{kind}:{case.id}:bench",
        case_id=case.id,
        kind=kind,
        policy={},
        anchor_at=case.reported_at,
        level=1,
        repeat=0,
        due_at=now + timedelta(hours=1),
        status="pending",
        fired=2,
        last_fired_at=now,
        created_at=now,
    )


def _notice(case: Case, partner_id: str, role: str, now: datetime) -> PartnerNotice:
    return PartnerNotice(
        case_id=case.id,
        partner_id=partner_id,
        measure_version=1,
        role=role,
        channel="C0ACMEDIST",
        status="sent",
        sent_at=now - timedelta(days=2),
        staff_clicks=[],
        created_at=now - timedelta(days=2),
    )


def measure(home: Home, pages: dict[str, int], repeat: int) -> dict[str, Any]:
    queries, renders, cpu, blocks, errors = [], [], [], 0, []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.thread_time()
        data = home.data(VIEWER, pages)
        fetched = time.perf_counter()
        view = home_view(data, pages, home.workspace.language)
        done = time.perf_counter()
        cpu.append(time.thread_time() - started_cpu)
        queries.append(fetched - started)
        renders.append(done - fetched)
        blocks = len(view["blocks"])
        errors = validate_view(view)
    totals = [q + r for q, r in zip(queries, renders, strict=True)]
    return {
        "queries_ms": statistics.median(queries) * 1000,
        "render_ms": statistics.median(renders) * 1000,
        "total_ms": statistics.median(totals) * 1000,
        "max_ms": max(totals) * 1000,
        # CPU time of the thread that builds the Home: what the work costs, whatever else the
        # machine is doing (wall-clock medians move with the load of a shared machine).
        "cpu_ms": statistics.median(cpu) * 1000,
        "blocks": blocks,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[500])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--database-url", help="default: SQLite in a temporary file")
    args = parser.parse_args()
    workspace = load_workspace(sample_path())
    now = datetime.now(UTC).replace(microsecond=0)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(
        "| open cases | pages | queries ms | render ms | total ms (median) | max ms | CPU ms"
        " | blocks | valid |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---|")
    for count in args.cases:
        with tempfile.TemporaryDirectory(prefix="ncbot-bench-home-") as tmp:
            url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
            db = Database(url)
            upgrade(db)
            seed_cases(db, workspace, count, now)
            home = Home(db, WebClient(base_url="http://127.0.0.1:9/api/"), workspace, lambda: now)
            for label, pages in (
                ("default", {}),
                ("all expanded", dict.fromkeys(SECTION_KEYS, MAX_PAGE)),
            ):
                result = measure(home, pages, args.repeat)
                valid = "yes" if not result["errors"] else f"NO: {result['errors'][:2]}"
                print(
                    f"| {count} | {label} | {result['queries_ms']:.1f} | {result['render_ms']:.1f}"
                    f" | {result['total_ms']:.1f} | {result['max_ms']:.1f}"
                    f" | {result['cpu_ms']:.1f} | {result['blocks']}"
                    f" | {valid} |"
                )
            home.shutdown()
            db.dispose()


if __name__ == "__main__":
    main()
