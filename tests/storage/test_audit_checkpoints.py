"""Signed checkpoints anchor the audit chains outside the database (issue 15, item 2): a Close
makes one (and a day passing), posted to the audit channel and appended to the checkpoint file;
anyone with the public key checks them; ``audit verify`` names a case whose history before the
newest checkpoint was rewritten with recomputed hashes — which nothing inside the database can
show — and a checkpoint missing from the database or from the channel. On both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, select, update

from bot import cli
from bot.audit import checkpoint as cp
from bot.audit.chain import link_hash
from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.timers.scheduler import sweep
from storage.models import AuditCheckpoint, Case, CaseEvent
from tests.scenarios import case_row, guided_workspace, settle, walk_to

EVENTS, CASES, CHECKPOINTS = CaseEvent.__table__, Case.__table__, AuditCheckpoint.__table__
AUDIT_CHANNEL = "C0AUDIT001"
SEED = cp.new_seed()
PUBLIC = cp.public_b64(cp.private_key(SEED))


@pytest.fixture
def bot(database_url: str, tmp_path: Path) -> Iterator[LocalBot]:
    workspace = guided_workspace().model_copy(update={"audit_channel": AUDIT_CHANNEL})
    with LocalBot(
        workspace,
        database_url=database_url,
        clock=FakeClock(),
        audit_key=SEED,
        checkpoint_file=tmp_path / "checkpoints.jsonl",
    ) as local:
        yield local


def posted(bot: LocalBot) -> list[str]:
    """The texts of the checkpoints in the audit channel, oldest first."""
    settle(bot)
    return [m.text for m in bot.standin.messages(AUDIT_CHANNEL) if not m.is_reply]


def closed_and_anchored(bot: LocalBot) -> None:
    walk_to(bot, "closed")
    sweep(bot.services)  # the scheduler's pass: the Close makes a checkpoint due
    settle(bot)


def verify(bot: LocalBot, capsys: Any, monkeypatch: Any, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", bot.database_url)
    monkeypatch.setenv("AUDIT_PUBLIC_KEY", PUBLIC)
    assert bot.checkpoint_file is not None
    monkeypatch.setenv("AUDIT_CHECKPOINT_FILE", str(bot.checkpoint_file))
    capsys.readouterr()
    code = cli.main(["audit", "verify", *args])
    return code, capsys.readouterr().out


def test_a_close_makes_a_signed_checkpoint_in_the_channel_the_file_and_the_database(
    bot: LocalBot,
) -> None:
    closed_and_anchored(bot)
    texts = posted(bot)
    assert len(texts) == 1
    assert texts[0].startswith("🔏 Audit checkpoint 1 (a case was closed, 1 cases")
    [in_slack] = cp.parse(texts[0])
    assert bot.checkpoint_file is not None
    [in_file] = cp.parse(bot.checkpoint_file.read_text(encoding="utf-8"))
    assert in_slack == in_file
    assert cp.signed_by(in_slack, cp.public_key(PUBLIC))
    case = case_row(bot)
    assert in_slack.statement["heads_digest"] == cp.heads_digest(
        {"NC-1": [case.event_count, case.head_hash]}
    )
    assert (in_slack.seq, in_slack.statement["reason"], in_slack.public_key) == (1, "close", PUBLIC)
    with bot.services.db.read() as session:
        [stored] = session.scalars(select(AuditCheckpoint)).all()
        assert (stored.seq, stored.hash) == (1, in_slack.hash)
    sweep(bot.services)  # nothing closed since, and not a day yet: no second checkpoint
    assert len(posted(bot)) == 1


def test_at_least_one_checkpoint_a_day_each_linked_to_the_one_before(bot: LocalBot) -> None:
    closed_and_anchored(bot)
    assert isinstance(bot.clock, FakeClock)
    bot.clock.now += timedelta(days=1)
    sweep(bot.services)
    first, second = (cp.parse(text)[0] for text in posted(bot))
    assert (second.seq, second.statement["reason"]) == (2, "daily")
    assert second.statement["prev"] == first.hash
    assert cp.check_sequence([first, second], cp.public_key(PUBLIC)) == []


def test_anyone_with_the_public_key_checks_the_checkpoints_and_sees_one_deleted(
    bot: LocalBot, tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    closed_and_anchored(bot)
    assert isinstance(bot.clock, FakeClock)
    for _ in range(2):
        bot.clock.now += timedelta(days=1)
        sweep(bot.services)
    texts = posted(bot)
    assert len(texts) == 3
    saved = tmp_path / "channel.txt"  # the audit channel's messages, saved as text
    monkeypatch.delenv("AUDIT_PUBLIC_KEY", raising=False)
    monkeypatch.delenv("AUDIT_KEY", raising=False)

    def check(text: str) -> tuple[int, str]:
        saved.write_text(text, encoding="utf-8")
        capsys.readouterr()
        code = cli.main(["audit", "check-checkpoint", str(saved), "--public-key", PUBLIC])
        return code, capsys.readouterr().out

    code, out = check("\n\n".join(texts))
    assert code == 0, out
    assert "checkpoint 2 (" in out and ": signature ok" in out
    assert "3 checkpoint(s) checked, 0 problem(s)" in out
    # A message deleted from the channel: the sequence shows the gap.
    code, out = check("\n\n".join([texts[0], texts[2]]))
    assert code == 1
    assert "BROKEN — checkpoint 2 missing between 1 and 3" in out
    # A checkpoint edited: its signature no longer matches.
    forged = texts[1].replace('"reason":"daily"', '"reason":"close"')
    code, out = check("\n\n".join([texts[0], forged, texts[2]]))
    assert code == 1
    assert "checkpoint 2 (" in out and "SIGNATURE DOES NOT MATCH" in out
    # Another key: nothing checks.
    other = cp.public_b64(cp.private_key(cp.new_seed()))
    saved.write_text("\n".join(texts), encoding="utf-8")
    assert cli.main(["audit", "check-checkpoint", str(saved), "--public-key", other]) == 1


def _rewrite_from(connection: Connection, case_id: int, seq: int) -> None:
    """Edit event ``seq``'s data and recompute its hash and every later one, the head and the
    count: a rewrite by someone who knows the scheme, invisible to the chain alone."""
    events = connection.execute(
        select(EVENTS).where(EVENTS.c.case_id == case_id).order_by(EVENTS.c.seq)
    ).all()
    prev = events[seq - 2].hash if seq > 1 else "0" * 64
    for event in events[seq - 1 :]:
        payload = dict(event.payload)
        if event.seq == seq:
            payload["data"] = {**payload["data"], "ts": "1700000000.000001"}
        digest = link_hash(prev, payload)
        connection.execute(
            update(EVENTS)
            .where(EVENTS.c.id == event.id)
            .values(payload=payload, prev_hash=prev, hash=digest)
        )
        prev = digest
    connection.execute(update(CASES).where(CASES.c.id == case_id).values(head_hash=prev))


def test_a_chain_rewritten_with_recomputed_hashes_is_named_against_the_checkpoint(
    bot: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    closed_and_anchored(bot)
    case_id = case_row(bot).id
    with bot.services.db.engine.begin() as connection:
        sent = connection.execute(
            select(EVENTS.c.seq)
            .where(EVENTS.c.case_id == case_id, EVENTS.c.kind == "message_sent")
            .order_by(EVENTS.c.seq)
        ).first()
        assert sent is not None
        _rewrite_from(connection, case_id, sent.seq)
    # Without the public key, only the chain and the replay are checked: they cannot see it.
    monkeypatch.setenv("DATABASE_URL", bot.database_url)
    capsys.readouterr()
    assert cli.main(["audit", "verify"]) == 0
    assert "checkpoints: not checked" in capsys.readouterr().out
    code, out = verify(bot, capsys, monkeypatch)
    assert code == 1
    assert "NC-1: BROKEN: rewritten — its history before checkpoint 1 (" in out
    assert "1 case(s) checked, 1 broken" in out


def test_an_untouched_database_verifies_against_its_checkpoints(
    bot: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    closed_and_anchored(bot)
    code, out = verify(bot, capsys, monkeypatch)
    assert code == 0, out
    assert "checkpoints: every chain checked against checkpoint 1" in out


def test_a_checkpoint_deleted_from_the_database_is_caught_by_its_outside_copy(
    bot: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    closed_and_anchored(bot)
    assert isinstance(bot.clock, FakeClock)
    bot.clock.now += timedelta(days=1)
    sweep(bot.services)
    with bot.services.db.engine.begin() as connection:
        connection.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.seq == 2))
    code, out = verify(bot, capsys, monkeypatch)
    assert code == 1
    assert "checkpoints: BROKEN — checkpoint 2 is outside the database but not in it" in out


def test_checkpoint_heads_rewritten_to_match_a_rewritten_chain_are_caught(
    bot: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    """Rewriting the stored heads along with the chain: the signed digest no longer matches."""
    closed_and_anchored(bot)
    case = case_row(bot)
    with bot.services.db.engine.begin() as connection:
        _rewrite_from(connection, case.id, 2)
        head = connection.execute(select(CASES.c.head_hash).where(CASES.c.id == case.id))
        connection.execute(
            update(CHECKPOINTS).values(heads={"NC-1": [case.event_count, head.scalar_one()]})
        )
    code, out = verify(bot, capsys, monkeypatch)
    assert code == 1
    assert "checkpoint 1: the heads it keeps are not those it signed" in out


def test_keygen_prints_a_seed_and_its_public_key(capsys: Any) -> None:
    assert cli.main(["audit", "keygen"]) == 0
    lines = capsys.readouterr().out.splitlines()
    seed = lines[0].removeprefix("AUDIT_KEY=")
    public = lines[1].removeprefix("public key: ")
    assert cp.public_b64(cp.private_key(seed)) == public
    assert len(cp._32_bytes(seed, "seed")) == 32


def test_a_malformed_audit_key_is_refused_naming_the_setting(
    capsys: Any, monkeypatch: Any, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("AUDIT_KEY", "bm90IDMyIGJ5dGVz")
    assert cli.main(["audit", "checkpoint"]) == 2
    err = capsys.readouterr().err
    assert "AUDIT_KEY must be the base64 of 32 bytes" in err
    assert "bm90IDMyIGJ5dGVz" not in err
