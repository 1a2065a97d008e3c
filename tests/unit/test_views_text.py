"""What leaves the organisation in full: an authority's draft and a partner's notice are split
over sections, never cut, and stay escaped."""

from __future__ import annotations

from bot.devkit.standin import validate_message_blocks
from bot.views.text import escape, safe_chunks


def test_a_long_text_full_of_markup_is_split_whole_and_escaped() -> None:
    text = "<!channel> & <@U0ADMIN001> " * 300
    pieces = safe_chunks(text, 2900)
    assert len(pieces) > 1
    assert all(len(piece) <= 2900 for piece in pieces)
    assert "".join(pieces) == escape(text)  # nothing lost, no entity split


def test_an_empty_text_gives_no_piece_to_render() -> None:
    assert safe_chunks("", 100) == []


def test_the_pieces_render_as_valid_sections() -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
        for piece in safe_chunks("ä&<" * 3000, 2900)
    ]
    assert validate_message_blocks(blocks) == []
