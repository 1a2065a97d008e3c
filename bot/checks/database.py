"""The database answers and its schema is the one this version of the bot was written for."""

from __future__ import annotations

from bot.checks import Result, failed, passed
from storage.db import Database
from storage.migrate import current_revision, head_revision


def check_database(url: str) -> Result:
    subject = "database"
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
