"""The audit trail's hash chain: each event's hash covers its payload and the previous hash.

Pure so that the same code checks a chain read from SQLite, PostgreSQL or an export. The chain
proves order and completeness only relative to the head hash and event count the case row keeps:
whoever can rewrite those too can rewrite history, so they are worth anchoring elsewhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Literal

GENESIS: str = "0" * 64

Problem = Literal[
    "changed",
    "deleted",
    "inserted",
    "out_of_order",
    "tail_removed",
    "head_mismatch",
    # found by replaying the events against the case row (``bot.audit.replay``)
    "no_report",
    "unknown_kind",
    "out_of_step",
    "row_differs",
    # found against a signed checkpoint (``bot.audit.checkpoints``)
    "rewritten",
]


def canonical_json(payload: Mapping[str, object]) -> str:
    """One text per payload, so a hash computed today still matches after a database round trip.

    Naive datetimes are taken as UTC because SQLite hands back naive values for what we stored
    aware. Types without an obvious single spelling (sets, bytes, Decimal, …) raise TypeError
    rather than hash differently on another machine.
    """
    return json.dumps(
        _plain(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def link_hash(prev_hash: str, payload: Mapping[str, object]) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical_json(payload)}".encode()).hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, Enum):  # before str and int: a StrEnum must hash as its value
        return _plain(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_key(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise TypeError(f"cannot hash a {type(value).__name__} in an audit payload")


def _key(key: object) -> str:
    """Only string keys: json would turn 1 into "1" and let two payloads share a text."""
    plain = _plain(key)
    if not isinstance(plain, str):
        raise TypeError(f"audit payload keys must be strings, not {type(key).__name__}")
    return plain


@dataclass(frozen=True)
class ChainRow:
    seq: int
    payload: Mapping[str, object]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int  # rows found sound before the first problem
    first_bad_seq: int | None
    problem: Problem | None
    detail: str


def verify(rows: Sequence[ChainRow], head_hash: str | None, count: int) -> Verification:
    """Check a case's events, ordered by seq, against the head hash and count on the case row.

    Rows are walked in order; everything before the current row is already known to be sound
    (seq equals its position, hash matches, links to its predecessor), so the first finding is
    the earliest damage. For each row, in this order:

    1. seq below its position: a duplicated seq is ``inserted``, a smaller one ``out_of_order``.
    2. prev_hash does not link to the predecessor (GENESIS for the first row):
       - it links to a later row: rows were renumbered into a new order, ``out_of_order``;
       - it links to an earlier row: the rows in between were ``inserted``;
       - a later row links to the predecessor instead: this row and those up to it were
         ``inserted``;
       - otherwise its predecessor vanished or was rewritten: ``deleted`` (at the missing seq)
         when seq jumps or there are fewer rows than the count, else ``changed`` (the
         predecessor was edited and re-hashed; this row still remembers its old hash).
    3. seq above its position although the link holds: the number was edited, ``out_of_order``.
    4. seq beyond the count the case recorded: ``inserted``.
    5. hash does not match prev_hash and payload: ``changed``.

    Then the whole: fewer rows than the count is ``tail_removed``; no rows at all is
    ``deleted`` at seq 1, whatever count and head say (every case has its report); a head naming
    an earlier row means rows were appended behind the case's back (``inserted``); any other
    head that is not
    the last row's hash is ``head_mismatch``, blamed on the last row, since it or the head was
    rewritten and the two cannot be told apart.
    """
    position_of = {row.hash: i for i, row in reversed(list(enumerate(rows)))}
    for i, row in enumerate(rows):
        expected_seq = i + 1
        expected_prev = rows[i - 1].hash if i else GENESIS
        if row.seq < expected_seq:
            if i and row.seq == rows[i - 1].seq:
                return _bad(i, row.seq, "inserted", f"seq {row.seq} appears twice")
            return _bad(i, row.seq, "out_of_order", f"seq {row.seq} comes after a higher seq")
        if row.prev_hash != expected_prev:
            return _broken_link(rows, i, expected_prev, position_of, count)
        if row.seq > expected_seq:
            return _bad(
                i, row.seq, "out_of_order", f"row {row.seq} links to row {expected_seq - 1}"
            )
        if row.seq > count:
            return _bad(i, row.seq, "inserted", f"seq {row.seq} is beyond the count {count}")
        if link_hash(row.prev_hash, row.payload) != row.hash:
            return _bad(i, row.seq, "changed", f"row {row.seq} no longer matches its hash")
    n = len(rows)
    if n < count:
        return _bad(n, n + 1, "tail_removed", f"{count - n} of {count} rows are missing at the end")
    if n == 0:
        # Every case starts with its report: a case without events lost its whole trail, even
        # when its count and head were reset to match.
        return _bad(0, 1, "deleted", "the case has no events, although every case has its report")
    if head_hash != rows[-1].hash:
        j = position_of.get(head_hash or "")
        if j is not None:
            return _bad(
                j + 1, j + 2, "inserted", f"rows after {j + 1} were added without moving the head"
            )
        return _bad(
            n - 1,
            n,
            "head_mismatch",
            "the head recorded on the case does not match the last row",
        )
    return Verification(ok=True, checked=n, first_bad_seq=None, problem=None, detail="intact")


def _broken_link(
    rows: Sequence[ChainRow],
    i: int,
    expected_prev: str,
    position_of: Mapping[str, int],
    count: int,
) -> Verification:
    row = rows[i]
    linked_to = position_of.get(row.prev_hash)
    if linked_to is not None and linked_to >= i:
        return _bad(i, row.seq, "out_of_order", f"row {row.seq} links to a later row")
    if linked_to is not None:
        first = rows[linked_to + 1].seq
        return _bad(linked_to + 1, first, "inserted", f"rows {first}–{row.seq - 1} were inserted")
    if any(later.prev_hash == expected_prev for later in rows[i + 1 :]):
        return _bad(i, row.seq, "inserted", f"row {row.seq} does not belong between its neighbours")
    if row.seq > i + 1 or len(rows) < count:
        return _bad(i, i + 1, "deleted", f"row {i + 1} is missing")
    if i == 0:
        return _bad(0, row.seq, "changed", f"row {row.seq} does not start at the genesis")
    before = rows[i - 1].seq
    detail = f"row {before} was re-hashed, or the row after it deleted and the count lowered"
    return _bad(i - 1, before, "changed", detail)


def _bad(checked: int, seq: int | None, problem: Problem, detail: str) -> Verification:
    return Verification(
        ok=False, checked=checked, first_bad_seq=seq, problem=problem, detail=detail
    )
