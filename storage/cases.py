"""Case rows: numbering, locking, lookups."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import Case, Counter

CASE_COUNTER = "case"


def next_number(session: Session, counter: str = CASE_COUNTER) -> int:
    """Take the next NC number inside the caller's transaction.

    The counter row is locked by the UPDATE until commit (PostgreSQL row lock; SQLite's
    BEGIN IMMEDIATE), so concurrent reports queue and a rolled-back one returns its number.
    """
    # The first reports on a fresh database race to create the row: let one insert win and
    # the others go on to the UPDATE, which then queues them behind the winner's row lock.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Counter)
        .values(name=counter, value=0)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    value = session.execute(
        update(Counter)
        .where(Counter.name == counter)
        .values(value=Counter.value + 1)
        .returning(Counter.value)
    ).scalar_one()
    return int(value)


def numbers_issued(session: Session) -> int:
    """How many NC numbers the counter has given out: NC-1..n, each to a case that exists."""
    value = session.scalar(select(Counter.value).where(Counter.name == CASE_COUNTER))
    return int(value or 0)


def numbers(session: Session) -> list[int]:
    return list(session.scalars(select(Case.number).order_by(Case.number)))


def by_submission(session: Session, key: str) -> Case | None:
    return session.scalars(select(Case).where(Case.submission_key == key)).one_or_none()


def by_number(session: Session, number: int, *, lock: bool = False) -> Case | None:
    query = select(Case).where(Case.number == number)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def by_id(session: Session, case_id: int, *, lock: bool = False) -> Case | None:
    query = select(Case).where(Case.id == case_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def listing(
    session: Session,
    *,
    states: Sequence[str] | None = None,
    visible_to: str | None = None,
    reporter_team: str | None = None,
    involving: str | None = None,
    system_id: str | None = None,
    limit: int = 50,
) -> Sequence[Case]:
    """Newest first. ``visible_to`` keeps the user's own reports only (reported from
    ``reporter_team``, when given, or from no recorded workspace); ``involving`` keeps the
    cases the user reported or owns."""
    query = select(Case).order_by(Case.number.desc()).limit(limit)
    if states is not None:
        query = query.where(Case.state.in_(states))
    if visible_to is not None:
        query = query.where(Case.reporter_id == visible_to)
        if reporter_team:
            query = query.where(Case.reporter_team.in_((reporter_team, "")))
    if involving is not None:
        query = query.where(or_(Case.reporter_id == involving, Case.owner_id == involving))
    if system_id is not None:
        query = query.where(Case.system_id == system_id)
    return session.scalars(query).all()


def all_cases(session: Session) -> Sequence[Case]:
    return session.scalars(select(Case).order_by(Case.number)).all()
