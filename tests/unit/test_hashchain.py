"""The audit hash chain: canonical payloads, and naming the first row someone tampered with."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum

import pytest

from bot.audit.chain import GENESIS, ChainRow, canonical_json, link_hash, verify


def chain(n: int = 5) -> list[ChainRow]:
    rows: list[ChainRow] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        payload = {"event": "note", "n": seq}
        rows.append(ChainRow(seq, payload, prev, link_hash(prev, payload)))
        prev = rows[-1].hash
    return rows


def forged(seq: int, prev_hash: str, text: str = "forged") -> ChainRow:
    """A row made by someone who knows how to hash: self-consistent, so only its links tell."""
    payload = {"event": "note", "text": text}
    return ChainRow(seq, payload, prev_hash, link_hash(prev_hash, payload))


def renumbered(rows: list[ChainRow]) -> list[ChainRow]:
    return [replace(row, seq=i) for i, row in enumerate(rows, start=1)]


def outcome(rows: list[ChainRow], head: str | None, count: int) -> tuple[str | None, int | None]:
    result = verify(rows, head, count)
    return result.problem, result.first_bad_seq


# --- canonical form ---------------------------------------------------------------------------


def test_link_hash_is_sha256_over_the_previous_hash_a_newline_and_the_canonical_payload() -> None:
    expected = hashlib.sha256(f'{GENESIS}\n{{"a":1,"b":[1,2]}}'.encode()).hexdigest()
    assert link_hash(GENESIS, {"b": (1, 2), "a": 1}) == expected


def test_a_naive_datetime_from_sqlite_hashes_like_the_aware_one_that_was_stored() -> None:
    aware = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    naive = aware.replace(tzinfo=None)
    amsterdam = aware.astimezone(timezone(timedelta(hours=1)))
    assert canonical_json({"at": aware}) == '{"at":"2026-03-01T09:30:15.123456+00:00"}'
    assert link_hash(GENESIS, {"at": naive}) == link_hash(GENESIS, {"at": aware})
    assert link_hash(GENESIS, {"at": amsterdam}) == link_hash(GENESIS, {"at": aware})


def test_dates_enums_and_tuples_have_one_spelling() -> None:
    class Colour(StrEnum):
        RED = "red"

    payload = {"day": date(2026, 1, 2), "colour": Colour.RED, "pair": (1, "x"), "none": None}
    assert (
        canonical_json(payload) == '{"colour":"red","day":"2026-01-02","none":null,"pair":[1,"x"]}'
    )


@pytest.mark.parametrize("value", [{1, 2}, b"bytes", Decimal("1.5"), object()])
def test_values_without_one_obvious_spelling_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        canonical_json({"value": value})


def test_non_string_keys_are_refused_so_two_payloads_cannot_share_a_text() -> None:
    with pytest.raises(TypeError):
        canonical_json({"nested": {1: "a"}})


def test_unicode_emoji_and_right_to_left_text_survive_unescaped() -> None:
    text = "Zoë 🚨 مرحبا שלום naïve ‮reversed"
    out = canonical_json({"text": text})
    assert text in out
    assert json.loads(out) == {"text": text}
    assert link_hash(GENESIS, {"text": text}) != link_hash(GENESIS, {"text": text[:-1]})


# --- intact chains ----------------------------------------------------------------------------


def test_an_intact_chain_verifies() -> None:
    rows = chain()
    result = verify(rows, rows[-1].hash, 5)
    assert (result.ok, result.checked, result.problem, result.first_bad_seq) == (
        True,
        5,
        None,
        None,
    )


@pytest.mark.parametrize("head", [None, GENESIS])
def test_a_case_without_events_is_a_deleted_trail(head: str | None) -> None:
    """Every case has at least its report: an empty trail with a reset count was emptied."""
    assert outcome([], head, 0) == ("deleted", 1)


# --- tampering --------------------------------------------------------------------------------


def test_an_edited_payload_is_changed_at_that_row() -> None:
    rows = chain()
    rows[2] = replace(rows[2], payload={"event": "note", "n": 99})
    result = verify(rows, rows[-1].hash, 5)
    assert (result.ok, result.problem, result.first_bad_seq, result.checked) == (
        False,
        "changed",
        3,
        2,
    )


def test_an_edited_and_rehashed_row_is_changed_at_that_row() -> None:
    rows = chain()
    rows[2] = forged(3, rows[1].hash)
    assert outcome(rows, rows[-1].hash, 5) == ("changed", 3)


def test_an_edited_and_rehashed_first_row_is_changed_at_row_one() -> None:
    rows = chain()
    rows[0] = forged(1, GENESIS)
    assert outcome(rows, rows[-1].hash, 5) == ("changed", 1)


def test_a_deleted_row_leaves_a_gap_in_seq() -> None:
    rows = chain()
    del rows[2]
    assert outcome(rows, rows[-1].hash, 5) == ("deleted", 3)


def test_a_deleted_first_row_is_deleted_at_row_one() -> None:
    rows = chain()[1:]
    assert outcome(rows, rows[-1].hash, 5) == ("deleted", 1)


def test_a_deleted_row_hidden_by_renumbering_is_found_by_its_broken_link() -> None:
    rows = chain()
    del rows[2]
    rows = renumbered(rows)
    assert outcome(rows, rows[-1].hash, 5) == ("deleted", 3)


def test_a_deletion_with_renumbering_and_a_lowered_count_reads_as_a_rewritten_row() -> None:
    # Indistinguishable from row 2 being edited and re-hashed: the rule blames row 2.
    rows = chain()
    del rows[2]
    rows = renumbered(rows)
    assert outcome(rows, rows[-1].hash, 4) == ("changed", 2)


def test_a_row_inserted_with_a_duplicate_seq_is_inserted() -> None:
    rows = chain()
    rows.insert(3, forged(3, "f" * 64))
    assert outcome(rows, rows[-1].hash, 5) == ("inserted", 3)


def test_a_well_linked_row_inserted_by_renumbering_is_inserted() -> None:
    rows = chain()
    rows.insert(2, forged(3, rows[1].hash))
    rows = renumbered(rows)
    assert outcome(rows, rows[-1].hash, 6) == ("inserted", 3)


def test_a_badly_linked_row_inserted_by_renumbering_is_inserted() -> None:
    rows = chain()
    rows.insert(2, forged(3, "f" * 64))
    rows = renumbered(rows)
    assert outcome(rows, rows[-1].hash, 6) == ("inserted", 3)


def test_a_row_appended_beyond_the_count_is_inserted() -> None:
    rows = chain()
    head = rows[-1].hash
    rows.append(forged(6, head))
    assert outcome(rows, head, 5) == ("inserted", 6)


def test_a_row_appended_with_the_count_raised_but_the_head_kept_is_inserted() -> None:
    rows = chain()
    head = rows[-1].hash
    rows.append(forged(6, head))
    assert outcome(rows, head, 6) == ("inserted", 6)


def test_two_rows_that_swapped_seq_are_out_of_order() -> None:
    rows = chain()
    rows[2], rows[3] = replace(rows[3], seq=3), replace(rows[2], seq=4)
    assert outcome(rows, rows[-1].hash, 5) == ("out_of_order", 3)


def test_rows_handed_over_unsorted_are_out_of_order() -> None:
    rows = chain()
    rows[2], rows[3] = rows[3], rows[2]
    assert outcome(rows, chain()[-1].hash, 5) == ("out_of_order", 4)


def test_a_renumbered_row_whose_link_still_holds_is_out_of_order() -> None:
    rows = chain()
    rows[4] = replace(rows[4], seq=7)
    assert outcome(rows, rows[-1].hash, 5) == ("out_of_order", 7)


def test_a_removed_tail_is_named_at_its_first_missing_row() -> None:
    rows = chain()[:3]
    result = verify(rows, chain()[-1].hash, 5)
    assert (result.problem, result.first_bad_seq, result.checked) == ("tail_removed", 4, 3)


def test_a_case_whose_every_event_vanished_has_its_tail_removed_from_row_one() -> None:
    assert outcome([], GENESIS, 3) == ("tail_removed", 1)


def test_a_removed_tail_with_a_lowered_count_does_not_match_the_head() -> None:
    full = chain()
    assert outcome(full[:3], full[-1].hash, 3) == ("head_mismatch", 3)


def test_an_edited_head_does_not_match_the_last_row() -> None:
    rows = chain()
    assert outcome(rows, "e" * 64, 5) == ("head_mismatch", 5)
    assert outcome(rows, None, 5) == ("head_mismatch", 5)


def test_the_first_of_several_tamperings_is_the_one_named() -> None:
    rows = chain()
    rows[3] = replace(rows[3], payload={"event": "edited"})
    del rows[1]
    assert outcome(rows, rows[-1].hash, 5) == ("deleted", 2)


def test_every_finding_explains_itself() -> None:
    rows = chain()
    del rows[2]
    assert verify(rows, rows[-1].hash, 5).detail == "row 3 is missing"
