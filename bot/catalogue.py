"""Keep the stored catalogue in step with the workspace file (idempotent; never deletes)."""

from __future__ import annotations

from bot.workspace import Workspace
from storage import catalogue as rows
from storage.db import Database


def sync(db: Database, workspace: Workspace) -> None:
    catalogue = workspace.catalogue
    with db.transaction() as session:
        rows.upsert_partners(session, [p.model_dump(mode="json") for p in catalogue.partners])
        rows.upsert_systems(session, [s.model_dump(mode="json") for s in catalogue.systems])
        session.flush()
        rows.replace_links(
            session,
            [(system.id, partner) for system in catalogue.systems for partner in system.partners],
        )
