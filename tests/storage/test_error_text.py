"""A database error is logged with its traceback (``log.exception``); its text must not carry
what people typed, which SQLAlchemy would otherwise append as the statement's parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from bot.devkit.local import LocalBot
from storage import outbox as outbox_rows
from storage.models import OutboxMessage

TYPED = "Quetzal approval rates dropped for applicants over 60"


def test_a_failed_statement_does_not_quote_its_parameters(bot: LocalBot) -> None:
    now = datetime.now(UTC)
    with bot.services.db.transaction() as session:
        outbox_rows.enqueue(session, dedupe_key="k", kind="thread", target="C1", now=now)
    with pytest.raises(IntegrityError) as failure, bot.services.db.transaction() as session:
        session.add(
            OutboxMessage(
                dedupe_key="k",  # taken: the insert fails
                kind="thread",
                target="C1",
                payload={"text": TYPED},
                status="pending",
                not_before=now,
                attempts=0,
                created_at=now,
            )
        )
    assert TYPED not in str(failure.value)
