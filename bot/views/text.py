"""Making user-typed text safe and short enough for Slack."""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape what Slack's mrkdwn parses, so ``<!channel>`` in a description pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cap(text: str, limit: int) -> str:
    """Shorten to ``limit`` characters with an ellipsis; counts code points like Slack does."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe(text: str, limit: int) -> str:
    """Escaped and capped so that the escaped form itself fits (``&amp;`` is five characters)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
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
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        pieces.append("".join(current))
    return pieces
