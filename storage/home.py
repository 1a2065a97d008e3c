"""Home views: when each person last opened their App Home (``storage.models.HomeView``)."""

from __future__ import annotations

from collections.abc import Collection
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


def opened_since(session: Session, user_ids: Collection[str], since: datetime) -> set[str]:
    """Who of ``user_ids`` opened their Home at ``since`` or later."""
    if not user_ids:
        return set()
    found = session.scalars(
        select(HomeView.user_id).where(
            HomeView.user_id.in_(sorted(set(user_ids))), HomeView.opened_at >= since
        )
    )
    return set(found)
