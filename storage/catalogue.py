"""Catalogue rows: AI systems, partners and their links. Upserted from the workspace file;
what leaves the file is deactivated, because old cases keep pointing at it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import AISystem, Partner, SystemPartner


def upsert_systems(session: Session, systems: Iterable[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for spec in systems:
        seen.add(spec["id"])
        row = session.get(AISystem, spec["id"])
        if row is None:
            row = AISystem(id=spec["id"])
            session.add(row)
        row.name, row.version, row.active, row.spec = spec["name"], spec["version"], True, spec
    session.execute(update(AISystem).where(AISystem.id.not_in(seen)).values(active=False))


def upsert_partners(session: Session, partners: Iterable[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for spec in partners:
        seen.add(spec["id"])
        row = session.get(Partner, spec["id"])
        if row is None:
            row = Partner(id=spec["id"])
            session.add(row)
        row.name, row.role, row.channel = spec["name"], spec["role"], spec.get("channel")
        row.contacts, row.language, row.active = (
            spec.get("contacts", []),
            spec.get("language"),
            True,
        )
        row.team_id = spec.get("team")
        row.emails = list(spec.get("email") or [])
    session.execute(update(Partner).where(Partner.id.not_in(seen)).values(active=False))


def replace_links(session: Session, links: Iterable[tuple[str, str]]) -> None:
    wanted = set(links)
    existing = {
        (row.system_id, row.partner_id): row for row in session.scalars(select(SystemPartner))
    }
    for key, row in existing.items():
        row.active = key in wanted
    for system_id, partner_id in wanted - existing.keys():
        session.add(SystemPartner(system_id=system_id, partner_id=partner_id, active=True))


def active_systems(session: Session) -> Sequence[AISystem]:
    return session.scalars(select(AISystem).where(AISystem.active).order_by(AISystem.name)).all()


def system(session: Session, system_id: str) -> AISystem | None:
    return session.get(AISystem, system_id)


def system_name(session: Session, system_id: str) -> str:
    """How messages name the AI system: its catalogue name, else its id (a system since
    removed from the workspace file is still named)."""
    found = system(session, system_id)
    return found.name if found else system_id


def partners_of(session: Session, system_id: str) -> Sequence[Partner]:
    return session.scalars(
        select(Partner)
        .join(SystemPartner, SystemPartner.partner_id == Partner.id)
        .where(SystemPartner.system_id == system_id, SystemPartner.active, Partner.active)
        .order_by(Partner.name)
    ).all()


def partner(session: Session, partner_id: str) -> Partner | None:
    return session.get(Partner, partner_id)


def partner_by_channel(session: Session, channel: str) -> Partner | None:
    """The partner whose Slack channel this is (an authority's, a deployer's)."""
    return session.scalars(select(Partner).where(Partner.channel == channel).limit(1)).first()


def partner_by_email(session: Session, address: str) -> Partner | None:
    """The partner one of whose e-mail addresses this is (an authority told by e-mail)."""
    wanted = address.lower()
    for found in session.scalars(select(Partner).order_by(Partner.id)):
        if wanted in (str(a).lower() for a in found.emails or []):
            return found
    return None
