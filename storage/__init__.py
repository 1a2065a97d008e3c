"""Persistence: SQLAlchemy 2 typed models, query functions and Alembic migrations. No Slack here."""

# Every table registers on the shared metadata when ``storage`` is imported, so Alembic and the
# migration test see them all.
from storage import alerts as _alerts  # noqa: F401
