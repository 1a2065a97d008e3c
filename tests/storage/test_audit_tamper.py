"""Someone with database access rewrites a case's audit trail directly in SQL; ``nonconformity-bot
audit verify`` catches each kind of tampering and names the first bad row, on both databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from bot import cli
from bot.audit.chain import link_hash
from bot.clock import FakeClock
from bot.devkit.local import LocalBot
from bot.ops.workspace import Workspace
from storage.models import Case, CaseEvent
from tests.conftest import drop_postgres, postgres_url
from tests.scenarios import (
    ADMIN,
    GENERAL,
    OFFICER,
    REPORTER,
    case_events,
    case_row,
    decide,
    guided_workspace,
    walk_to,
)

EVENTS = CaseEvent.__table__
CASES = Case.__table__


@pytest.fixture
def workspace() -> Workspace:
    return guided_workspace()


@dataclass
class Trail:
    bot: LocalBot
    case: dict[str, Any]
    events: list[dict[str, Any]]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def trail(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trail]:
    """One case taken from report to closed per database, its trail kept to be put back."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('audit') / 'bot.db'}"
    else:
        url = postgres_url()
    try:
        with LocalBot(guided_workspace(), database_url=url, clock=FakeClock()) as bot:
            walk_to(bot, "closed")
            case_id = case_row(bot).id
            with bot.services.db.engine.connect() as connection:
                case = connection.execute(select(CASES).where(CASES.c.id == case_id)).one()
                events = connection.execute(select(EVENTS).where(EVENTS.c.case_id == case_id)).all()
            yield Trail(bot, dict(case._mapping), [dict(e._mapping) for e in events])
    finally:
        if request.param != "sqlite":
            drop_postgres(url)


@pytest.fixture
def walked(trail: Trail) -> LocalBot:
    """The walked case with its trail as the bot wrote it (undoing the previous test's damage)."""

    def put_back(connection: Connection, case_id: int) -> None:
        connection.execute(delete(EVENTS).where(EVENTS.c.case_id == case_id))
        connection.execute(insert(EVENTS), trail.events)
        connection.execute(
            update(CASES)
            .where(CASES.c.id == case_id)
            .values(event_count=trail.case["event_count"], head_hash=trail.case["head_hash"])
        )

    tamper(trail.bot, put_back)
    assert count(trail.bot) >= 14
    return trail.bot


def seq_of(bot: LocalBot, kind: str) -> int:
    """Where in the trail the first event of ``kind`` sits."""
    return next(e.seq for e in case_events(bot) if e.kind == kind)


def count(bot: LocalBot) -> int:
    return int(case_row(bot).event_count)


def verify(bot: LocalBot, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> tuple[int, str]:
    """``nonconformity-bot audit verify NC-1`` against the bot's database."""
    monkeypatch.setenv("DATABASE_URL", bot.database_url)
    capsys.readouterr()
    code = cli.main(["audit", "verify", "NC-1"])
    return code, capsys.readouterr().out


def tamper(bot: LocalBot, change: Callable[[Connection, int], None]) -> None:
    """Run ``change(connection, case_id)`` in one transaction, straight on the database."""
    case_id = case_row(bot).id
    with bot.services.db.engine.begin() as connection:
        change(connection, case_id)


def row(connection: Connection, case_id: int, seq: int) -> Any:
    return connection.execute(
        select(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == seq)
    ).one()


def renumber(connection: Connection, case_id: int, mapping: dict[int, int]) -> None:
    """Give rows new seq numbers without tripping the unique (case_id, seq) on the way."""
    for old in mapping:
        connection.execute(
            update(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == old).values(seq=-old)
        )
    for old, new in mapping.items():
        connection.execute(
            update(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == -old).values(seq=new)
        )


def forged(
    connection: Connection, case_id: int, seq: int, prev_hash: str, model_seq: int
) -> dict[str, Any]:
    """A well-formed copy of event ``model_seq`` claiming an admin did it, hashed onto
    ``prev_hash``."""
    model = row(connection, case_id, model_seq)
    payload = {**model.payload, "seq": seq, "actor": ADMIN}
    return {
        "case_id": case_id,
        "seq": seq,
        "kind": model.kind,
        "actor_id": ADMIN,
        "at": model.at,
        "payload": payload,
        "prev_hash": prev_hash,
        "hash": link_hash(prev_hash, payload),
    }


def test_an_untouched_trail_verifies(walked: LocalBot, capsys: Any, monkeypatch: Any) -> None:
    assert verify(walked, capsys, monkeypatch) == (
        0,
        f"NC-1: ok ({count(walked)} events, chain intact)\n"
        "checkpoints: none — the chains are not anchored outside the database (AUDIT_KEY)\n"
        "1 case(s) checked, 0 broken\n",
    )


def test_a_changed_payload_is_caught_at_its_row(
    walked: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    acknowledged = seq_of(walked, "acknowledge")

    def who_acknowledged(connection: Connection, case_id: int) -> None:
        event = row(connection, case_id, acknowledged)
        assert event.payload["actor"] == OFFICER
        connection.execute(
            update(EVENTS)
            .where(EVENTS.c.id == event.id)
            .values(payload={**event.payload, "actor": ADMIN})
        )

    tamper(walked, who_acknowledged)
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1
    assert f"NC-1: BROKEN at event {acknowledged}: changed" in out
    assert out.endswith("1 case(s) checked, 1 broken\n")


def test_a_payload_changed_and_rehashed_is_caught_at_that_row(
    walked: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    """A forger who also recomputes the row's hash still breaks the next row's link."""
    confirmed = seq_of(walked, "confirm")

    def rewrite(connection: Connection, case_id: int) -> None:
        event = row(connection, case_id, confirmed)
        payload = {**event.payload, "data": {**event.payload["data"], "risk": "yes"}}
        connection.execute(
            update(EVENTS)
            .where(EVENTS.c.id == event.id)
            .values(payload=payload, hash=link_hash(event.prev_hash, payload))
        )

    tamper(walked, rewrite)
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1
    assert f"NC-1: BROKEN at event {confirmed}: changed" in out


def test_a_row_deleted_in_the_middle_is_named(
    walked: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    confirmed = seq_of(walked, "confirm")
    tamper(
        walked,
        lambda c, case_id: c.execute(
            delete(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == confirmed)
        ),
    )
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1
    assert f"NC-1: BROKEN at event {confirmed}: deleted" in out


def test_a_row_deleted_and_the_rest_renumbered_is_named(
    walked: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    """Closing the gap and lowering the count hides the hole from the numbering, not the links."""
    confirmed, n = seq_of(walked, "confirm"), count(walked)

    def close_the_gap(connection: Connection, case_id: int) -> None:
        connection.execute(
            delete(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq == confirmed)
        )
        renumber(connection, case_id, {seq: seq - 1 for seq in range(confirmed + 1, n + 1)})
        connection.execute(update(CASES).where(CASES.c.id == case_id).values(event_count=n - 1))

    tamper(walked, close_the_gap)
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1
    # the row before the hole no longer matches what its successor remembers
    assert f"NC-1: BROKEN at event {confirmed - 1}: changed" in out, out


def test_a_well_formed_row_inserted_in_the_middle_is_named(
    walked: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    at, n = seq_of(walked, "propose_measure"), count(walked)
    acknowledged = seq_of(walked, "acknowledge")

    def insert_before_the_proposal(connection: Connection, case_id: int) -> None:
        renumber(connection, case_id, {seq: seq + 1 for seq in range(at, n + 1)})
        previous = row(connection, case_id, at - 1).hash
        connection.execute(
            insert(EVENTS).values(**forged(connection, case_id, at, previous, acknowledged))
        )
        connection.execute(update(CASES).where(CASES.c.id == case_id).values(event_count=n + 1))

    tamper(walked, insert_before_the_proposal)
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1
    assert f"NC-1: BROKEN at event {at}: inserted" in out


def test_two_rows_swapped_are_out_of_order(walked: LocalBot, capsys: Any, monkeypatch: Any) -> None:
    at = seq_of(walked, "propose_measure")
    tamper(walked, lambda c, case_id: renumber(c, case_id, {at: at + 1, at + 1: at}))
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1
    assert f"NC-1: BROKEN at event {at}: out_of_order" in out


def test_a_row_appended_behind_the_cases_back_is_named(
    walked: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    n, acknowledged = count(walked), seq_of(walked, "acknowledge")

    def append(connection: Connection, case_id: int) -> None:
        last = row(connection, case_id, n).hash
        connection.execute(
            insert(EVENTS).values(**forged(connection, case_id, n + 1, last, acknowledged))
        )

    tamper(walked, append)
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1
    assert f"NC-1: BROKEN at event {n + 1}: inserted" in out


def test_a_removed_tail_is_caught_by_the_count_the_case_keeps(
    walked: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    n = count(walked)
    tamper(
        walked,
        lambda c, case_id: c.execute(
            delete(EVENTS).where(EVENTS.c.case_id == case_id, EVENTS.c.seq >= n - 1)
        ),
    )
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1
    assert f"NC-1: BROKEN at event {n - 1}: tail_removed" in out
    assert f"2 of {n} rows are missing at the end" in out


def test_a_verified_trail_keeps_verifying_after_more_decisions(
    any_db_bot: LocalBot, capsys: Any, monkeypatch: Any
) -> None:
    """The chain goes on across a reopening: verification is not a one-off at the end."""
    walked = any_db_bot
    walk_to(walked, "closed")
    decide(walked, "case_reopen", ADMIN, {"reason": "Audit finding."})
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 0, out
    assert f"{case_row(walked).event_count} events, chain intact" in out


def test_a_changed_actor_column_is_caught(walked: LocalBot, capsys: Any, monkeypatch: Any) -> None:
    tamper(
        walked,
        lambda c, case_id: c.execute(
            update(EVENTS)
            .where(EVENTS.c.case_id == case_id, EVENTS.c.kind == "acknowledge")
            .values(actor_id=ADMIN)
        ),
    )
    status = walked.driver.command("/nonconformity", "status NC-1", user=REPORTER, channel=GENERAL)
    assert f"acknowledged by <@{ADMIN}>" in status.text  # what people now read
    code, out = verify(walked, capsys, monkeypatch)
    assert code == 1, out
    assert f"BROKEN at event {seq_of(walked, 'acknowledge')}" in out
