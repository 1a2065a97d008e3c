"""The App Home tab: what waits on the viewer, and (for the roles) everything that is open.

Pure: ``HomeData`` in, a ``home`` view out. The view always fits Block Kit: at most 100 blocks,
every section text under 3,000 characters. Each list shows a page of entries and a "Show more"
button; when the lists together would not fit, later lists keep their header and first lines and
earlier ones give up lines, so no list silently disappears.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from bot.cases.state import CaseRecord
from bot.cases.views import SEVERITY_ICON, when
from bot.messages import t
from bot.views import ids
from bot.views.text import cap, mrkdwn, plain, safe

MAX_BLOCKS: Final = 100
TEXT_BUDGET: Final = 2900  # below the 3,000 characters of a section text
LINK_MAX: Final = 400  # a longer permalink is not a Slack permalink: show the ref without it
SECTION_KEYS: Final = ("approval", "owned", "reports", "open", "overdue", "notices")
PAGE: Final = 10
MAX_PAGE: Final = 500

Note = tuple[str, Mapping[str, object]]
"""A message key and its parameters; datetimes among them are shown in the reader's timezone,
``Label``s are translated, other text is escaped."""


@dataclass(frozen=True)
class Label:
    """A parameter that is itself a message key (a role, a status), translated when shown."""

    key: str


@dataclass(frozen=True)
class Entry:
    case: CaseRecord
    note: Note | None = None


@dataclass(frozen=True)
class Section:
    key: str
    entries: Sequence[Entry]  # the page to show, in order
    total: int  # how many there are in all
    by_state: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # the "open" summary


@dataclass(frozen=True)
class HomeData:
    user_id: str
    member: bool
    as_of: datetime
    sections: Sequence[Section]


def pages_from(metadata: str | None) -> dict[str, int]:
    """The page sizes a published Home remembers in its private_metadata."""
    try:
        raw = json.loads(metadata or "{}")
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        k: max(PAGE, min(int(v), MAX_PAGE))
        for k, v in raw.items()
        if k in SECTION_KEYS and isinstance(v, int)
    }


def home_view(data: HomeData, pages: Mapping[str, int], lang: str) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(t("home.title", lang))},
        {"type": "context", "elements": [mrkdwn(t("home.intro", lang, when=when(data.as_of)))]},
    ]
    if not data.member:
        blocks.append({"type": "context", "elements": [mrkdwn(t("home.only_reports", lang))]})
    rendered = [_lines(section, lang) for section in data.sections]
    # A list needs its header, one text block, perhaps a summary and a button, and a divider.
    minimum = [_overhead(section) + 1 for section in data.sections]
    for index, (section, lines) in enumerate(zip(data.sections, rendered, strict=True)):
        budget = MAX_BLOCKS - len(blocks) - sum(minimum[index + 1 :]) - _overhead(section)
        blocks += _section_blocks(section, lines, max(budget, 1), lang)
    return {
        "type": "home",
        "private_metadata": json.dumps({k: v for k, v in pages.items() if v != PAGE}),
        "blocks": blocks,
    }


def _overhead(section: Section) -> int:
    """Blocks a list takes besides its lines: header, summary, "Show more", divider."""
    return 3 + (1 if section.by_state else 0)  # the button may be needed even when all fit


def _section_blocks(
    section: Section, lines: list[Line], budget: int, lang: str
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(cap(t(f"home.section.{section.key}", lang), 150))}
    ]
    if section.by_state:
        blocks.append({"type": "context", "elements": [mrkdwn(_summary(section, lang))]})
    if not lines:
        blocks.append({"type": "context", "elements": [mrkdwn(t("home.empty", lang))]})
    chunks = _chunks(lines)[:budget]
    for chunk in chunks:
        blocks.append({"type": "section", "text": mrkdwn("\n".join(text for _, text in chunk))})
    shown = sum(1 for chunk in chunks for is_entry, _ in chunk if is_entry)
    if shown < section.total:
        blocks.append(_more(section, shown, lang))
    blocks.append({"type": "divider"})
    return blocks


def _more(section: Section, shown: int, lang: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": f"{ids.HOME_MORE_BLOCK}_{section.key}",
        "elements": [
            {
                "type": "button",
                "action_id": ids.HOME_MORE,
                "text": plain(t("home.more", lang, count=section.total - shown)),
                "value": section.key,
            },
        ],
    }


def _summary(section: Section, lang: str) -> str:
    parts = []
    for state, severities in section.by_state.items():
        icons = " ".join(
            f"{SEVERITY_ICON.get(severity, '')}{count}" for severity, count in severities.items()
        )
        total = sum(severities.values())
        parts.append(
            f"*{t('home.state_count', lang, state=t(f'state.{state}', lang), count=total)}* {icons}"
        )
    return cap(" · ".join(parts), TEXT_BUDGET) or t("home.empty", lang)


Line = tuple[bool, str]  # (is an entry, text): the open list interleaves state headings


def _lines(section: Section, lang: str) -> list[Line]:
    """One line per entry; the open list also gets a heading line where the state changes."""
    lines: list[Line] = []
    state = None
    for entry in section.entries:
        if section.key == "open" and entry.case.state != state:
            state = entry.case.state
            lines.append((False, f"*{t(f'state.{state}', lang)}*"))
        lines.append((True, _line(entry, lang)))
    return lines


def _line(entry: Entry, lang: str) -> str:
    case = entry.case
    link = case.details.permalink
    ref = f"<{link}|{case.ref}>" if link and len(link) <= LINK_MAX else f"*{case.ref}*"
    line = f"{SEVERITY_ICON.get(case.severity, '')} {ref} {safe(case.title, 80)}"
    if entry.note is not None:
        key, params = entry.note
        shown = {k: _param(v, lang) for k, v in params.items()}
        line += f" — {t(key, lang, **shown)}"
    else:
        line += f" — {t(f'state.{case.state}', lang)}"
    return line


def _param(value: object, lang: str) -> object:
    """Times in the reader's timezone; text (partner names, labels) escaped and bounded."""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, Label):
        return t(value.key, lang)
    return safe(value, 150) if isinstance(value, str) else value


def _chunks(lines: Sequence[Line]) -> list[list[Line]]:
    """Whole lines into section texts of at most TEXT_BUDGET characters."""
    chunks: list[list[Line]] = []
    size = 0
    for line in lines:
        if not chunks or size + len(line[1]) + 1 > TEXT_BUDGET:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line[1]) + 1
    return chunks
