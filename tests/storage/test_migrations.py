"""The schema comes from the migrations alone: they reach head on both databases, several
replicas may run them at once, and they describe exactly what the models say."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Base
from storage.slack_tables import SLACK_METADATA

CLI = str(Path(sys.executable).with_name("nonconformity-bot"))


def test_upgrade_brings_an_empty_database_to_head(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert current_revision(db) is None
        upgrade(db)
        assert head_revision() is not None
        assert current_revision(db) == head_revision()
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) | set(SLACK_METADATA.tables) <= tables
        upgrade(db)  # a second run is a no-op
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def test_the_migrations_match_the_models(database_url: str) -> None:
    """Autogenerate finds nothing to add: nobody changed a model without a migration, and
    slack-sdk's installation and state stores (an upgrade of slack-sdk may change their
    tables) still find the tables migration 0022 made."""
    db = Database(database_url)
    try:
        upgrade(db)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": db.is_sqlite}
            )
            differences = compare_metadata(context, [Base.metadata, SLACK_METADATA])  # type: ignore[arg-type]
        assert differences == []
    finally:
        db.dispose()


def test_three_threads_upgrading_at_once_all_succeed(database_url: str) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def replica() -> None:
        db = Database(database_url)
        try:
            start.wait()
            upgrade(db)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=replica) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    db = Database(database_url)
    try:
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def test_three_processes_running_db_upgrade_at_once_all_succeed(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    processes = [
        subprocess.Popen(
            [CLI, "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=60), *p.communicate()) for p in processes]
    assert [code for code, _, _ in results] == [0, 0, 0], results
    head = head_revision()
    assert all(f"database at revision {head}" in out for _, out, _ in results), results
    db = Database(database_url)
    try:
        assert current_revision(db) == head
    finally:
        db.dispose()


def test_a_slack_sdk_that_changes_its_tables_fails_the_comparison(database_url: str) -> None:
    """What happens on an upgrade of slack-sdk that adds a column to its bots table: the
    comparison above finds it, so a migration must follow (the tables are not created from
    the installed slack-sdk at run time, where the change would go unnoticed)."""
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from sqlalchemy import Column, MetaData, String

    from storage import slack_tables

    class NewerStore(SQLAlchemyInstallationStore):
        @classmethod
        def build_bots_table(cls, metadata: MetaData, table_name: str) -> Any:
            table = super().build_bots_table(metadata, table_name)
            table.append_column(Column("bot_something_new", String(32)))
            return table

    newer = MetaData()
    NewerStore.build_bots_table(newer, slack_tables.BOTS)
    db = Database(database_url)
    try:
        upgrade(db)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, newer)
        added = [d for d in differences if d[0] == "add_column"]
        assert [(d[2], d[3].name) for d in added] == [(slack_tables.BOTS, "bot_something_new")]
    finally:
        db.dispose()
