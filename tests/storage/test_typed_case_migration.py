"""Migration 0006 turns the free-form ``cases.details`` of revision 0005 into typed state and a
``measures`` table: every case reads back as it was, the audit chains still verify, and the
downgrade gives the old JSON back.

The database is filled from ``fixtures/pre_typed_case.json`` — what the bot stored at revision
0005, made through its real paths (a whole Art. 20 case with a rejected measure, every duty and
an awareness correction; every measure kind; a dismissed case; reopened cases).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select, text

from bot.audit.trail import verify_case
from bot.cases.state import CaseDetails, CorrectiveMeasure, MeasureStatus
from bot.dossier.export import Dossier
from bot.dossier.service import load as load_dossier
from storage.db import Database
from storage.events import events_of
from storage.migrate import alembic_config, head_revision, upgrade
from storage.models import Case
from tests.storage.fixtures.load_fixture import FIXTURE, load_pre_typed_fixture

OLD = json.loads(FIXTURE.read_text(encoding="utf-8"))
OLD_CASES = {row["number"]: row for row in OLD["cases"]}
MEASURE_KEYS = ("measure", "earlier_measures")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _expected_measures(details: dict[str, Any]) -> list[CorrectiveMeasure]:
    """The old measures, oldest first, with the status each had."""
    earlier = [
        {**m, "status": "rejected" if m.get("rejection") else "superseded"}
        for m in details.get("earlier_measures") or []
    ]
    current = [{**details["measure"], "status": "current"}] if details.get("measure") else []
    return [CorrectiveMeasure.model_validate(m) for m in [*earlier, *current]]


def test_the_fixture_covers_every_shape_the_migration_must_convert() -> None:
    """If the fixture ever lost a shape, the test below would prove less without failing."""
    details = [_json(row["details"]) for row in OLD["cases"]]
    measures = [m for d in details for m in _expected_measures(d)]
    assert {m.measure.value for m in measures} == {
        "bring_into_conformity",
        "withdraw",
        "disable",
        "recall",
    }
    assert Counter(m.status for m in measures).keys() == set(MeasureStatus)
    assert any(m.art73_6_warning for m in measures)
    duties = {name for d in details for name in d.get("duties") or {}}
    assert duties == {
        "investigate",
        "inform_authority",
        "inform_notified_body",
        "initial_report",
        "complete_report",
    }
    states = {row["state"] for row in OLD["cases"]}
    assert {"closed", "dismissed", "reported", "acknowledged"} <= states
    assert any(d.get("reopenings") for d in details)
    assert any(d.get("aware_on") for d in details)  # a corrected awareness date


@pytest.mark.parametrize("number", sorted(OLD_CASES))
def test_an_old_case_reads_back_unchanged_after_the_upgrade(
    migrated: Database, number: int
) -> None:
    old = OLD_CASES[number]
    details = _json(old["details"])
    with migrated.read() as session:
        row = session.scalars(select(Case).where(Case.number == number)).one()
        case = row.record()
        assert verify_case(session, row).ok
    for column in ("state", "version", "owner_id", "title", "severity", "risk", "card_ts"):
        assert getattr(case, column) == old[column], column
    assert case.event_count == old["event_count"] and case.head_hash == old["head_hash"]
    rest = {k: v for k, v in details.items() if k not in MEASURE_KEYS}
    assert case.details == CaseDetails.model_validate(rest)
    assert list(case.measures) == _expected_measures(details)
    assert case.measure == (
        CorrectiveMeasure.model_validate({**details["measure"], "status": "current"})
        if details.get("measure")
        else None
    )
    assert row.report_due == case.details.report_due


def test_every_old_case_exports_a_dossier_with_an_intact_chain(migrated: Database) -> None:
    from datetime import UTC, datetime

    for number in OLD_CASES:
        dossier = load_dossier(migrated, number, now=datetime(2026, 12, 1, tzinfo=UTC))
        Dossier.model_validate_json(json.dumps(dossier))  # follows the public shape
        assert dossier["audit"]["intact"], number
        assert dossier["audit"]["checked"] == OLD_CASES[number]["event_count"]


def test_the_events_are_not_rewritten(migrated: Database) -> None:
    old_events = {
        (e["case_id"], e["seq"]): (e["hash"], _json(e["payload"])) for e in OLD["case_events"]
    }
    with migrated.read() as session:
        for row in OLD["cases"]:
            for event in events_of(session, row["id"]):
                assert (event.hash, event.payload) == old_events[(row["id"], event.seq)]


def test_the_downgrade_gives_the_old_details_back(migrated: Database) -> None:
    config = alembic_config()
    with migrated.engine.connect() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
        connection.commit()
        stored = {
            number: _json(details)
            for number, details in connection.execute(text("SELECT number, details FROM cases"))
        }
    assert stored == {number: _json(row["details"]) for number, row in OLD_CASES.items()}


@pytest.fixture
def migrated(database_url: str) -> Any:
    load_pre_typed_fixture(database_url)
    db = Database(database_url)
    try:
        upgrade(db)
        with db.engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == head_revision()
        yield db
    finally:
        db.dispose()
