"""Signed checkpoints, pure: one digest per set of heads, a signature only the seed makes, and a
sequence whose gaps and broken links show."""

from __future__ import annotations

import pytest

from bot.audit import checkpoint as cp
from bot.audit.chain import GENESIS

SEED = cp.new_seed()
KEY = cp.private_key(SEED)
PUBLIC = cp.public_key(cp.public_b64(KEY))


def made(seq: int, prev: str | None, digest: str = "a" * 64) -> cp.Published:
    statement = cp.body(
        seq=seq, at="2026-11-30T12:00:00+00:00", reason="daily", cases=2, digest=digest, prev=prev
    )
    return cp.Published(statement, cp.sign(KEY, statement), cp.public_b64(KEY))


def sequence(n: int) -> list[cp.Published]:
    items: list[cp.Published] = []
    for seq in range(1, n + 1):
        items.append(made(seq, items[-1].hash if items else None))
    return items


def test_the_heads_digest_does_not_depend_on_order_and_changes_with_any_head() -> None:
    heads = {"NC-1": [3, "a" * 64], "NC-2": [1, "b" * 64]}
    assert cp.heads_digest(heads) == cp.heads_digest(dict(reversed(heads.items())))
    assert cp.heads_digest(heads) != cp.heads_digest({**heads, "NC-2": [1, "c" * 64]})
    assert cp.heads_digest(heads) != cp.heads_digest({**heads, "NC-2": [2, "b" * 64]})


def test_a_published_checkpoint_parses_back_from_a_slack_message_and_checks() -> None:
    item = made(1, None)
    text = (
        "🔏 Audit checkpoint 1 …\n```"
        + cp.published(item.statement, item.signature, item.public_key)
        + "```"
    )
    assert cp.parse(text) == [item]
    assert item.statement["prev"] == GENESIS
    assert cp.signed_by(item, PUBLIC)
    assert not cp.signed_by(item, cp.private_key(cp.new_seed()).public_key())


def test_a_sound_sequence_has_no_problem() -> None:
    assert cp.check_sequence(sequence(4), PUBLIC) == []


def test_a_missing_checkpoint_and_a_broken_link_are_named() -> None:
    items = sequence(4)
    assert cp.check_sequence([items[0], items[1], items[3]], PUBLIC) == [
        "checkpoint 3 missing between 2 and 4"
    ]
    relinked = made(3, "f" * 64)
    assert cp.check_sequence([items[0], items[1], relinked], PUBLIC) == [
        "checkpoint 3: does not link to checkpoint 2 (one of them was changed)"
    ]


@pytest.mark.parametrize("bad", ["not base64!", "c2hvcnQ=", ""])
def test_a_key_that_is_not_32_bytes_of_base64_is_refused(bad: str) -> None:
    with pytest.raises(cp.BadKey):
        cp.private_key(bad)
