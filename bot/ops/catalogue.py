"""Keep the stored catalogue in step with the workspace file (idempotent; never deletes).

A system or partner that leaves the file is deactivated, because old cases keep pointing at it
and the record of who was informed must stay readable for ten years.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from bot.ops.workspace import Catalogue, Workspace
from storage import catalogue as rows
from storage.db import Database
from storage.models import AISystem, Partner


@dataclass(frozen=True)
class Summary:
    systems: int
    partners: int
    deactivated_systems: int
    deactivated_partners: int


def sync(db: Database, workspace: Workspace) -> Summary:
    return sync_catalogue(db, workspace.catalogue)


def sync_catalogue(db: Database, catalogue: Catalogue) -> Summary:
    with db.transaction() as session:
        rows.upsert_partners(session, [p.model_dump(mode="json") for p in catalogue.partners])
        rows.upsert_systems(session, [s.model_dump(mode="json") for s in catalogue.systems])
        session.flush()
        rows.replace_links(
            session,
            [(system.id, partner) for system in catalogue.systems for partner in system.partners],
        )
        session.flush()

        def count(model: type[AISystem] | type[Partner], active: bool) -> int:
            query = select(func.count()).select_from(model).where(model.active.is_(active))
            return int(session.scalar(query) or 0)

        return Summary(
            systems=count(AISystem, True),
            partners=count(Partner, True),
            deactivated_systems=count(AISystem, False),
            deactivated_partners=count(Partner, False),
        )
