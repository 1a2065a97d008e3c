"""Engine and transactions for SQLite (embedded default) and PostgreSQL (production).

SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` for every transaction, so that two
writers queue instead of failing half-way with "database is locked" at commit. PostgreSQL gets
row locks (``FOR UPDATE``) from the query functions; both commit or roll back as a whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        event.listen(self._sessions, "before_commit", run_at_commit)
        event.listen(self._sessions, "after_soft_rollback", _forget_at_commit)
        # Reads take no write lock on SQLite (plain BEGIN): a report's modal must not queue
        # behind another report's commit just to list the AI systems.
        self._readers = sessionmaker(
            self.engine.execution_options(ncbot_read_only=True), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any exception."""
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit of work: a consistent snapshot, never a writer's lock."""
        with self._readers() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


AT_COMMIT = "ncbot_at_commit"


def at_commit(session: Session, work: Callable[[Session], None]) -> None:
    """Run ``work`` inside this transaction, just before it commits (in the order given).

    For what must see the transaction's final state: a message that shows a case is rendered
    after every change the transaction makes to it, whatever order the code made them in.
    """
    session.info.setdefault(AT_COMMIT, []).append(work)


def run_at_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint released: the work waits for the transaction's own commit
    while pending := session.info.pop(AT_COMMIT, []):
        for work in pending:
            work(session)


def _forget_at_commit(session: Session, previous: Any) -> None:
    """A rolled-back transaction owes nothing; a savepoint rolled back inside one does not
    take the transaction's own work with it (work queued inside the savepoint is kept too:
    it is rendered from what the transaction finally commits)."""
    if previous.parent is None:
        session.info.pop(AT_COMMIT, None)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # errors are logged: they must not quote what people typed
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        _sqlite_immediate_transactions(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        hide_parameters=True,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
    )


def _sqlite_immediate_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from pysqlite so that BEGIN IMMEDIATE below is ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get("ncbot_read_only", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
