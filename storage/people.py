"""People rows: who a Slack user was (name, title) when first looked up. Inserted once, never
updated (``storage.models.Person``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import Person


def of(session: Session, user_ids: Iterable[str]) -> dict[str, Person]:
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = session.scalars(select(Person).where(Person.user_id.in_(ids))).all()
    return {row.user_id: row for row in rows}


def keep(
    session: Session,
    user_id: str,
    *,
    team_id: str | None,
    name: str | None,
    title: str | None,
    at: datetime,
) -> None:
    """The first look-up wins: two requests racing for the same person insert once."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Person)
        .values(user_id=user_id, team_id=team_id, name=name, title=title, looked_up_at=at)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
