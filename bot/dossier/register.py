"""The organisation's register of corrective actions: one row per case with its key dates.

Read in one snapshot with three queries (cases, the dated events that matter, notice counts),
whatever the number of cases, so an export of years of cases does not load every audit payload.
CSV for spreadsheets, JSON (same columns, ``schema_version``) for other tools; both documented
in ``docs/dossier.md``. In the CSV a text cell that a spreadsheet would read as a formula (it
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``, OWASP's
rule against formula injection: a reporter's title ``=HYPERLINK(…)`` stays text. The JSON keeps
every value as stored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.cases.state import CaseRecord, DutyRecord
from bot.duties import service as duties
from storage.db import Database
from storage.models import Case, CaseEvent, PartnerNotice

SCHEMA_VERSION: Final = "1.0"
FORMATS: Final = ("csv", "json")
COLUMNS: Final = (
    "ref",
    "title",
    "system_id",
    "system_version",
    "severity",
    "risk",
    "state",
    "reporter",
    "owner",
    "reported_at",
    "acknowledged_at",
    "assessed_at",
    "dismissed_at",
    "measure",
    "measure_owner",
    "measure_target_date",
    "measure_proposed_at",
    "measure_approved_at",
    "measure_done_at",
    "closed_at",
    "notices_total",
    "notices_sent",
    "notices_acknowledged",
    "notices_waived",
    "art73_category",
    "art73_due",
    "art73_initial_report",
    "art73_complete_report",
    "events",
)
# event kind → (column, which occurrence): the first acknowledgement and assessment, the latest
# closing (a reopening starts it over). The measure's dates come from the current measure.
DATED: Final = {
    "acknowledge": ("acknowledged_at", "first"),
    "confirm": ("assessed_at", "first"),
    "dismiss": ("dismissed_at", "last"),
    "close": ("closed_at", "last"),
}
FINISHED: Final = ("closed", "dismissed")
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")

Row = dict[str, Any]


def load(db: Database) -> list[Row]:
    with db.read() as session:
        return rows(session)


def rows(session: Session) -> list[Row]:
    cases = session.scalars(select(Case).order_by(Case.number)).all()
    dates = _event_dates(session)
    counts = _notice_counts(session)
    return [
        _row(case.record(), dates.get(case.id, {}), counts.get(case.id, (0, 0, 0, 0)))
        for case in cases
    ]


def _event_dates(session: Session) -> dict[int, dict[str, str]]:
    found: dict[int, dict[str, str]] = {}
    query = (
        select(CaseEvent.case_id, CaseEvent.kind, CaseEvent.at)
        .where(CaseEvent.kind.in_(tuple(DATED)))
        .order_by(CaseEvent.case_id, CaseEvent.seq)
    )
    for case_id, kind, at in session.execute(query):
        column, which = DATED[kind]
        dates = found.setdefault(case_id, {})
        if which == "last" or column not in dates:
            dates[column] = at.isoformat()
    return found


def _notice_counts(session: Session) -> dict[int, tuple[int, int, int, int]]:
    query = select(
        PartnerNotice.case_id,
        func.count(PartnerNotice.id),
        func.count(PartnerNotice.sent_at),
        func.count(PartnerNotice.ack_at),
        func.count(PartnerNotice.waived_at),
    ).group_by(PartnerNotice.case_id)
    return {
        case_id: (int(total), int(sent), int(acked), int(waived))
        for case_id, total, sent, acked, waived in session.execute(query)
    }


def _row(case: CaseRecord, dates: dict[str, str], counts: tuple[int, int, int, int]) -> Row:
    measure = case.measure
    recorded = case.details.duties
    deadline = case.details.art73()
    row: Row = {
        "ref": case.ref,
        "title": case.title,
        "system_id": case.system_id,
        "system_version": case.system_version,
        "severity": case.severity,
        "risk": case.risk,
        "state": case.state,
        "reporter": case.reporter_id,
        "owner": case.owner_id,
        "reported_at": _iso(case.reported_at),
        **{column: dates.get(column) for column, _ in DATED.values()},
        "measure": measure.measure.value if measure else None,
        "measure_owner": measure.owner if measure else None,
        "measure_target_date": measure.target_date.isoformat() if measure else None,
        "measure_proposed_at": _iso(measure.proposed_at) if measure else None,
        "measure_approved_at": _iso(measure.approvals[-1].at)
        if measure and measure.approvals
        else None,
        "measure_done_at": _iso(measure.done.at) if measure and measure.done else None,
        "notices_total": counts[0],
        "notices_sent": counts[1],
        "notices_acknowledged": counts[2],
        "notices_waived": counts[3],
        "art73_category": deadline.category if deadline else None,
        "art73_due": deadline.due.isoformat() if deadline else None,
        "art73_initial_report": _made_on(recorded.get(duties.INITIAL_REPORT)),
        "art73_complete_report": _made_on(recorded.get(duties.COMPLETE_REPORT)),
        "events": case.event_count,
    }
    if case.state not in FINISHED:
        row["closed_at"] = None  # a reopened case is not closed, whatever it once was
    if case.state != "dismissed":
        row["dismissed_at"] = None
    return {column: row[column] for column in COLUMNS}


def _made_on(recorded: DutyRecord | None) -> str | None:
    return recorded.made_on() if recorded is not None else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def spreadsheet_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a would-be formula gets a leading ``'``."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def render(register: Sequence[Row], fmt: str, *, now: datetime) -> bytes:
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in register:
            writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
        return out.getvalue().encode()
    if fmt == "json":
        document = {
            "schema_version": SCHEMA_VERSION,
            "generated_at": now.isoformat(),
            "columns": list(COLUMNS),
            "cases": list(register),
        }
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    raise ValueError(f"unknown register format {fmt!r} (use {', '.join(FORMATS)})")
