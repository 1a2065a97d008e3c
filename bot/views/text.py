"""Making user-typed text safe and short enough for Slack.

Every piece of text people typed reaches a mrkdwn text object through ``escape`` (``safe``,
``safe_chunks``): Slack's entities (``<!channel>``, ``<@U…>``, links) are escaped, and so is its
formatting, so a description cannot pose as the bot's own status lines (``*✅ APPROVED*`` in
bold). mrkdwn has no escape for formatting, so a mark that could open or close it (``*`` bold,
``_`` italic, ``~`` strike, a backtick for code, ``>`` starting a quote) is shown as a look-alike
that Slack does not parse (∗ ＿ ∼ ˋ ＞). A mark between two letters or digits (``model_v2``,
``2*3``) formats nothing in Slack and is kept, and so is a link (``https://…``), which Slack
links as it is. The stored text is never changed: exports and dossiers show it as typed.
"""

from __future__ import annotations

import re
from typing import Final

ENTITIES: Final = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
MARKS: Final = {"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"}
QUOTE: Final = "\uff1e"  # ＞ for a ``>`` that would start a quoted line
_LINK = re.compile(r"https?://\S+", re.IGNORECASE)


def _pieces(text: str) -> list[str]:
    """Each character of ``text`` as it is sent in mrkdwn (its neighbours decide for marks)."""
    linked = bytearray(len(text))
    for found in _LINK.finditer(text):
        linked[found.start() : found.end()] = b"\1" * (found.end() - found.start())
    pieces: list[str] = []
    line_start = True  # only blanks since the start of the line
    for i, char in enumerate(text):
        if linked[i]:
            piece = ENTITIES.get(char, char)
        elif char in MARKS and not _between_word_characters(text, i):
            piece = MARKS[char]
        elif char == ">" and line_start:
            piece = QUOTE
        else:
            piece = ENTITIES.get(char, char)
        pieces.append(piece)
        line_start = char == "\n" or (line_start and char in " \t")
    return pieces


def _between_word_characters(text: str, i: int) -> bool:
    return 0 < i < len(text) - 1 and text[i - 1].isalnum() and text[i + 1].isalnum()


def escape(text: str) -> str:
    """What Slack's mrkdwn parses, escaped: ``<!channel>`` in a description pings nobody and
    ``*bold*`` shows as typed, not bold."""
    return "".join(_pieces(text))


def cap(text: str, limit: int) -> str:
    """Shorten to ``limit`` characters with an ellipsis; counts code points like Slack does."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe(text: str, limit: int) -> str:
    """Escaped and capped so that the escaped form itself fits (``&amp;`` is five characters)."""
    pieces = _pieces(text)
    escaped = "".join(pieces)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for piece in pieces:
        if size + len(piece) > limit - 1:
            break
        out.append(piece)
        size += len(piece)
    return "".join(out) + "…"


def plain(text: str, *, emoji: bool = True) -> dict[str, object]:
    return {"type": "plain_text", "text": text, "emoji": emoji}


def mrkdwn(text: str) -> dict[str, object]:
    return {"type": "mrkdwn", "text": text}


def safe_chunks(text: str, limit: int) -> list[str]:
    """The whole text, escaped, in pieces that each fit ``limit``: for what must reach its reader
    in full (an authority's or a partner's notice) rather than be cut with an ellipsis."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for piece in _pieces(text):
        if size + len(piece) > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        pieces.append("".join(current))
    return pieces
