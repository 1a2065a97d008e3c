"""Work deferred to a transaction's commit (how messages are rendered): it runs once, at the
outer commit, after every change; a rollback drops it; a savepoint neither runs it early nor,
when rolled back, takes the transaction's own work with it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import Database, at_commit
from storage.migrate import upgrade
from storage.models import Counter


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    upgrade(database)
    yield database
    database.dispose()


def counter(session: Session) -> int | None:
    return session.scalar(select(Counter.value).where(Counter.name == "probe"))


def test_deferred_work_sees_every_change_of_the_transaction(db: Database) -> None:
    seen: list[int | None] = []
    with db.transaction() as session:
        at_commit(session, lambda s: seen.append(counter(s)))
        session.add(Counter(name="probe", value=7))  # made after the work was queued
    assert seen == [7]


def test_a_rolled_back_transaction_runs_none_of_its_deferred_work(db: Database) -> None:
    seen: list[str] = []
    with pytest.raises(RuntimeError), db.transaction() as session:
        at_commit(session, lambda s: seen.append("ran"))
        raise RuntimeError("the change fails")
    with db.transaction() as session:
        pass
    assert seen == []


def test_a_savepoint_neither_runs_the_work_early_nor_drops_it_when_rolled_back(
    db: Database,
) -> None:
    seen: list[tuple[str, int | None]] = []
    with db.transaction() as session:
        at_commit(session, lambda s: seen.append(("outer", counter(s))))
        with session.begin_nested():
            at_commit(session, lambda s: seen.append(("released", counter(s))))
        assert seen == []  # releasing a savepoint is not the commit
        nested = session.begin_nested()
        nested.rollback()
        session.add(Counter(name="probe", value=3))
    assert seen == [("outer", 3), ("released", 3)]
