"""``audit verify`` trusts nothing the events do not say (issue 15, item 2): an emptied trail, a
case deleted whole, a case row (state, owner, measures, duties, notices) changed without an event,
and an event of a kind nobody replays are each caught and named — on both databases.

The database is the pre-typed fixture (eleven cases made through the bot's real paths at
revision 0005, every step, duty, notice outcome and an awareness correction) migrated to the
head, so the replay also reads every old event in its old shape. Each test tampers with it
directly in SQL, as someone with database access would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Connection, delete, select, update

from bot import cli
from bot.audit.chain import link_hash
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Case, CaseEvent, MeasureRow, OutboxMessage, PartnerNotice, Timer
from tests.storage.fixtures.load_fixture import load_pre_typed_fixture

CASES, EVENTS = Case.__table__, CaseEvent.__table__
MEASURES, NOTICES = MeasureRow.__table__, PartnerNotice.__table__


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    load_pre_typed_fixture(database_url)
    database = Database(database_url)
    try:
        upgrade(database)
        yield database
    finally:
        database.dispose()


def verify(db: Database, capsys: Any, monkeypatch: Any, *case: str) -> tuple[int, str]:
    """``nonconformity-bot audit verify [NC-n]`` against the database."""
    monkeypatch.setenv("DATABASE_URL", db.url)
    capsys.readouterr()
    code = cli.main(["audit", "verify", *case])
    return code, capsys.readouterr().out


def case_id(connection: Connection, number: int) -> int:
    return int(connection.execute(select(CASES.c.id).where(CASES.c.number == number)).scalar_one())


def seq_of(connection: Connection, number: int, kind: str, last: bool = False) -> int:
    seqs = connection.execute(
        select(EVENTS.c.seq)
        .where(EVENTS.c.case_id == case_id(connection, number), EVENTS.c.kind == kind)
        .order_by(EVENTS.c.seq)
    ).scalars()
    found = list(seqs)
    return found[-1] if last else found[0]


def test_the_untouched_fixture_verifies_every_case_by_replay(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    code, out = verify(db, capsys, monkeypatch)
    assert code == 0, out
    assert "11 case(s) checked, 0 broken" in out


def test_a_case_emptied_with_its_counters_reset_is_a_broken_trail(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    with db.engine.begin() as connection:
        nc3 = case_id(connection, 3)
        connection.execute(delete(EVENTS).where(EVENTS.c.case_id == nc3))
        connection.execute(
            update(CASES).where(CASES.c.id == nc3).values(event_count=0, head_hash=None)
        )
    code, out = verify(db, capsys, monkeypatch, "NC-3")
    assert code == 1
    assert "NC-3: BROKEN at event 1: deleted — the case has no events" in out


def test_a_case_deleted_whole_is_caught_by_the_gapless_numbers(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    with db.engine.begin() as connection:
        nc6 = case_id(connection, 6)
        for table in (EVENTS, MEASURES, NOTICES, Timer.__table__, OutboxMessage.__table__):
            connection.execute(delete(table).where(table.c.case_id == nc6))
        connection.execute(delete(CASES).where(CASES.c.id == nc6))
    code, out = verify(db, capsys, monkeypatch)
    assert code == 1
    assert "NC-6: MISSING — the counter gave out NC-1..NC-11" in out
    assert "11 case(s) checked, 1 broken" in out
    code, out = verify(db, capsys, monkeypatch, "NC-6")
    assert (code, out.splitlines()[0][:12]) == (1, "NC-6: MISSIN")


def test_a_case_row_set_to_closed_is_caught_and_named(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    with db.engine.begin() as connection:
        connection.execute(update(CASES).where(CASES.c.number == 2).values(state="closed"))
        approved = seq_of(connection, 2, "approve")
    code, out = verify(db, capsys, monkeypatch, "NC-2")
    assert code == 1
    assert (
        f"NC-2: BROKEN at event {approved}: row_differs — the case row's state is 'closed', "
        "its events say 'measure_approved'"
    ) in out


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [("owner_id", "U0INTRUDER", "owner"), ("version", 99, "version"), ("risk", "no", "risk")],
)
def test_a_case_column_changed_without_an_event_is_named(
    db: Database, capsys: Any, monkeypatch: Any, column: str, value: object, said: str
) -> None:
    with db.engine.begin() as connection:
        connection.execute(update(CASES).where(CASES.c.number == 1).values({column: value}))
    code, out = verify(db, capsys, monkeypatch, "NC-1")
    assert code == 1
    assert f"row_differs — the case row's {said} is {value!r}" in out


def _edit_measure(db: Database, number: int, change: Any) -> None:
    """Rewrite the case's newest measure in place, its columns kept in step (as code would)."""
    with db.transaction() as session:
        case = session.scalars(select(Case).where(Case.number == number)).one()
        row = case.measures[-1]
        measure = row.measure.model_dump(mode="json")
        change(measure)
        row.write(type(row.measure).model_validate(measure))


@pytest.mark.parametrize(
    ("number", "change", "shows"),
    [
        (4, lambda m: m.update(approvals=[{"by": "U0APPROVE1", "at": m["proposed_at"]}]), "U0APP"),
        (2, lambda m: m.update(approvals=[]), "approvals none"),
        (3, lambda m: m.update(done=None), "done no"),
        (2, lambda m: m.update(measure="recall"), "recall"),
        (2, lambda m: m.update(owner="U0INTRUDER"), "owner U0INTRUDER"),
    ],
    ids=["approval forged", "approval removed", "done removed", "kind changed", "owner changed"],
)
def test_a_measure_changed_without_an_event_is_named(
    db: Database, capsys: Any, monkeypatch: Any, number: int, change: Any, shows: str
) -> None:
    _edit_measure(db, number, change)
    code, out = verify(db, capsys, monkeypatch, f"NC-{number}")
    assert code == 1
    assert "row_differs — the case row's measures is" in out, out
    assert shows in out


def test_a_measure_status_column_changed_alone_is_named(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    with db.engine.begin() as connection:
        nc2 = case_id(connection, 2)
        connection.execute(
            update(MEASURES).where(MEASURES.c.case_id == nc2).values(status="superseded")
        )
    code, out = verify(db, capsys, monkeypatch, "NC-2")
    assert code == 1
    assert "status, owner or proposer column differs" in out


def test_a_duty_removed_from_the_row_is_named(db: Database, capsys: Any, monkeypatch: Any) -> None:
    with db.transaction() as session:
        case = session.scalars(select(Case).where(Case.number == 1)).one()
        duties = {k: v for k, v in case.details.duties.items() if k != "initial_report"}
        case.details = case.details.model_copy(update={"duties": duties})
    with db.engine.connect() as connection:
        recorded = seq_of(connection, 1, "duty_complete_report")
    code, out = verify(db, capsys, monkeypatch, "NC-1")
    assert code == 1
    assert f"NC-1: BROKEN at event {recorded}: row_differs — the case row's duties" in out


def test_a_notice_marked_acknowledged_without_an_event_is_named(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            update(NOTICES)
            .where(NOTICES.c.case_id == case_id(connection, 2), NOTICES.c.partner_id == "acme-dist")
            .values(status="acknowledged")
        )
    code, out = verify(db, capsys, monkeypatch, "NC-2")
    assert code == 1
    assert "the notice to acme-dist (v5) is 'acknowledged', its events say 'sent'" in out


def test_a_notice_deleted_without_an_event_is_named(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            delete(NOTICES).where(
                NOTICES.c.case_id == case_id(connection, 2), NOTICES.c.partner_id == "eu-import"
            )
        )
    code, out = verify(db, capsys, monkeypatch, "NC-2")
    assert code == 1
    assert "the notice to eu-import (v5) is gone" in out


def _append(connection: Connection, number: int, kind: str, data: dict[str, Any]) -> int:
    """Append a well-chained event, moving the head and count as the bot would."""
    case = connection.execute(select(CASES).where(CASES.c.number == number)).one()
    seq = case.event_count + 1
    payload = {
        "case": f"NC-{number}",
        "seq": seq,
        "kind": kind,
        "actor": None,
        "at": "2026-12-01T00:00:00+00:00",
        "data": data,
    }
    digest = link_hash(case.head_hash, payload)
    connection.execute(
        EVENTS.insert().values(
            case_id=case.id,
            seq=seq,
            kind=kind,
            actor_id=None,
            at=datetime(2026, 12, 1, tzinfo=UTC),
            payload=payload,
            prev_hash=case.head_hash,
            hash=digest,
        )
    )
    connection.execute(
        update(CASES).where(CASES.c.id == case.id).values(event_count=seq, head_hash=digest)
    )
    return seq


def test_an_event_of_a_kind_no_replay_knows_is_a_finding(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    with db.engine.begin() as connection:
        seq = _append(connection, 11, "case_closed_quietly", {})
    code, out = verify(db, capsys, monkeypatch, "NC-11")
    assert code == 1
    assert f"NC-11: BROKEN at event {seq}: unknown_kind — no replay knows the kind" in out


def test_a_step_forged_with_recomputed_hashes_that_does_not_follow_is_out_of_step(
    db: Database, capsys: Any, monkeypatch: Any
) -> None:
    """A ``close`` appended to a case that waits for its assessment: hashes fine, history not."""
    with db.engine.begin() as connection:
        seq = _append(
            connection, 10, "close", {"from": "measure_done", "to": "closed", "version": 3}
        )
    code, out = verify(db, capsys, monkeypatch, "NC-10")
    assert code == 1
    assert f"NC-10: BROKEN at event {seq}: out_of_step — close from 'measure_done'" in out
