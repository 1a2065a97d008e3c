"""Edits of a posted message: the newest state wins, but an edit is never lost to a newer one
that fails; and rows queued by the version before the message registry still go out right."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.devkit.standin import Message
from storage import outbox as outbox_rows
from storage.models import OutboxMessage
from tests.scenarios import case_row, settle, walk_to

TRIAGE = "C0TRIAGE01"


def card(bot: LocalBot) -> Message:
    ts = case_row(bot).card_ts
    assert ts is not None
    return bot.standin.message(TRIAGE, ts)


def queue_card_edit(bot: LocalBot, key: str, title: str, clock: FakeClock) -> None:
    """An edit of NC-1's card, as the registry stores one: its content and its post's key."""
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": title}}]
    with bot.services.db.transaction() as session:
        outbox_rows.enqueue(
            session,
            dedupe_key=key,
            kind="card_update",
            target=f"card:{case_row(bot).id}:post",
            case_id=case_row(bot).id,
            now=clock(),
            payload={"text": title, "blocks": blocks},
        )


def status_of(bot: LocalBot, key: str) -> str:
    with bot.services.db.read() as session:
        row = outbox_rows.by_key(session, key)
        assert row is not None
        return row.status


def test_an_older_edit_is_skipped_once_a_newer_edit_of_the_same_message_was_sent(
    bot: LocalBot, clock: FakeClock
) -> None:
    walk_to(bot, "acknowledged")
    settle(bot)
    before = card(bot).update_count
    queue_card_edit(bot, "edit:older", "OLDER", clock)
    queue_card_edit(bot, "edit:newer", "NEWER", clock)
    settle(bot)
    assert card(bot).text == "NEWER"
    assert status_of(bot, "edit:older") == "skipped"
    assert card(bot).update_count == before + 1  # the older state never reached Slack


def test_an_edit_is_not_lost_when_the_newer_edit_of_the_same_message_fails_for_good(
    bot: LocalBot, clock: FakeClock
) -> None:
    walk_to(bot, "acknowledged")
    settle(bot)
    # Slack refuses the next edit of the card for good (its blocks, say): that is the newer one,
    # since the older waits for it. The older must still reach the card.
    bot.standin.inject("chat.update", channel=TRIAGE, error="invalid_blocks")
    queue_card_edit(bot, "edit:older", "OLDER", clock)
    queue_card_edit(bot, "edit:newer", "NEWER", clock)
    settle(bot)
    assert status_of(bot, "edit:newer") == "failed"
    assert status_of(bot, "edit:older") == "sent"
    assert card(bot).text == "OLDER"


def test_a_card_edit_queued_by_the_version_before_the_registry_is_aimed_at_the_card(
    bot: LocalBot, clock: FakeClock
) -> None:
    """Before revision 0007 an edit named its channel and held no words (it was rendered when
    sent); such a row, left by a replica of that version, still edits the card."""
    walk_to(bot, "acknowledged")
    settle(bot)
    case = case_row(bot)
    with bot.services.db.transaction() as session:
        outbox_rows.enqueue(
            session,
            dedupe_key="card:old-version",
            kind="card_update",
            target=TRIAGE,
            case_id=case.id,
            now=clock(),
            payload={},
        )
    before = card(bot).update_count
    settle(bot)
    assert status_of(bot, "card:old-version") == "sent"
    assert card(bot).update_count == before + 1
    assert "NC-1" in card(bot).text


def test_an_answered_step_keeps_its_outcome_line_for_a_replica_of_the_version_before(
    bot: LocalBot,
) -> None:
    """The version before the registry finished a step from the line in the row's payload."""
    walk_to(bot, "acknowledged")
    settle(bot)
    with bot.services.db.read() as session:
        done = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "step_done")
        ).first()
        assert done is not None
        assert "Acknowledged" in done.payload["line"]
