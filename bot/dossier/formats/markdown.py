"""The dossier as Markdown that reads well on its own (GitHub-flavoured tables).

User text is kept as typed; only what would break the layout is neutralised: a ``|`` or a line
break inside a table cell, and long texts are quoted so a ``#`` in them starts no heading.
"""

from __future__ import annotations

from bot.dossier.formats.document import (
    Chronology,
    Document,
    Fields,
    Heading,
    LongText,
    Paragraph,
    Table,
)


def to_markdown(doc: Document) -> str:
    out = [f"# {_line(doc.title)}", ""]
    for part in doc.parts:
        if isinstance(part, Heading):
            out += [f"{'#' * part.level} {_line(part.text)}", ""]
        elif isinstance(part, Paragraph):
            out += [f"**{_line(part.text)}**" if part.strong else part.text, ""]
        elif isinstance(part, Fields):
            out += ["| | |", "|---|---|"]
            out += [f"| **{_cell(label)}** | {_cell(value)} |" for label, value in part.rows]
            out.append("")
        elif isinstance(part, LongText):
            out += [f"**{_line(part.label)}**", ""]
            out += [f"> {line}" if line else ">" for line in (part.text or "—").splitlines()]
            out.append("")
        elif isinstance(part, Chronology):
            out += [f"- {_line(line)}" for line in part.lines]
            out.append("")
        elif isinstance(part, Table):
            out += [_row(part.headers), "|" + "---|" * len(part.headers)]
            for row in part.rows:
                cells = [f"`{c}`" if i in part.mono else c for i, c in enumerate(row)]
                out.append(_row(cells))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _cell(text: str) -> str:
    return _line(text).replace("|", "\\|") or " "


def _line(text: str) -> str:
    return " ".join(str(text).split())
