"""Home views: when each person last opened their App Home (``storage.models.HomeView``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import HomeView


def opened(session: Session, user_id: str, at: datetime) -> None:
    """Record an opening; two replicas recording the same person at once both succeed."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(HomeView).values(user_id=user_id, opened_at=at)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id"], set_={"opened_at": statement.excluded.opened_at}
        )
    )


def opened_since(session: Session, user_id: str, since: datetime) -> bool:
    at = session.scalar(select(HomeView.opened_at).where(HomeView.user_id == user_id))
    return at is not None and at >= since
