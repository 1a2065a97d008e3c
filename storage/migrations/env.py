"""Alembic environment: runs on the connection ``storage.migrate`` hands over (already locked)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.models import Base
from storage.slack_tables import SLACK_METADATA

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=[Base.metadata, SLACK_METADATA],  # ours, and slack-sdk's stores'
        render_as_batch=True,  # SQLite can only ALTER through table copies
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    from sqlalchemy import create_engine

    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite://")
    with engine.connect() as fresh:
        run(fresh)
else:
    run(connection)
