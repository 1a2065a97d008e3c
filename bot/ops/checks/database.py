"""The database answers and its schema is the one this version of the bot was written for."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import make_url

from bot.ops.checks import Result, failed, passed
from storage.db import Database
from storage.migrate import current_revision, head_revision


def check_database(url: str) -> Result:
    subject = "database"
    missing = _missing_sqlite_file(url)
    if missing is not None:  # connecting would create an empty file: a check changes nothing
        return failed(
            subject,
            f"the SQLite file {missing} does not exist",
            "check DATABASE_URL, or create it with `nonconformity-bot db upgrade`",
        )
    db = Database(url)
    try:
        db.ping()
        current = current_revision(db)
    except Exception as exc:
        return failed(
            subject,
            f"cannot be reached ({type(exc).__name__})",
            "check DATABASE_URL, the server and its credentials",
        )
    finally:
        db.dispose()
    head = head_revision()
    if current != head:
        return failed(
            subject,
            f"schema at revision {current or 'none'}, this version needs {head}",
            "run `nonconformity-bot db upgrade` (serve also migrates when it starts)",
        )
    return passed(subject, f"reachable, migrated to head ({head})")


def _missing_sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database or "")
    return None if path.exists() else path
