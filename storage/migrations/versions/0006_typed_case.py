"""typed case: measures in their own table

Revision ID: 0006
Revises: 0005

A case's measures move out of ``cases.details`` (``measure`` and ``earlier_measures``) into the
``measures`` table, one row each in the order they were proposed, with the status each had: the
current one, a rejected one (it carries its ``rejection``) or one set aside by a reopening. The
rest of ``details`` keeps its keys; the typed models read it as it is. ``cases.report_due``
(the last day of an Art. 73 report still owed) is derived from them, so App Home can find
deadlines with an index; the day counts below are Art. 73's, frozen here as of this revision.

Audit events are not touched: their payloads are hashed, and the code reads old event kinds in
their old shape. This migration only reads and writes plain JSON, never the application's
models, so it means the same thing whatever those models become later.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

cases = sa.table(
    "cases",
    sa.column("id", sa.Integer),
    sa.column("details", sa.JSON),
    sa.column("report_due", sa.Date),
    sa.column("state", sa.String),
    sa.column("severity", sa.String),
    sa.column("number", sa.Integer),
    sa.column("list_order", sa.BigInteger),
)
# App Home's order as of this revision: the procedure's states, then the most severe first.
STATES = (
    "reported",
    "acknowledged",
    "confirmed",
    "measure_proposed",
    "measure_approved",
    "measure_done",
    "closed",
    "dismissed",
)
SEVERITIES = ("critical", "high", "medium", "low")
ORDER_SPAN = 10**10
# Art. 73(2)-(4): days after awareness, by serious-incident category.
ART73_DAYS = {"a_death": 10, "a_health": 15, "b": 2, "c": 15, "c_widespread": 2, "d": 15}
measures = sa.table(
    "measures",
    sa.column("case_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("status", sa.String),
    sa.column("owner_id", sa.String),
    sa.column("proposer_id", sa.String),
    sa.column("measure", sa.JSON),
)


def _status(measure: dict[str, Any], current: bool) -> str:
    if current:
        return "current"
    return "rejected" if measure.get("rejection") else "superseded"


def _report_due(details: dict[str, Any], state: str) -> date | None:
    if state in ("closed", "dismissed"):
        return None
    assessment = details.get("assessment") or {}
    days = ART73_DAYS.get(str(assessment.get("serious_incident", "none")))
    if days is None or "initial_report" in (details.get("duties") or {}):
        return None
    aware_on = details.get("aware_on") or assessment["aware_on"]
    return date.fromisoformat(aware_on) + timedelta(days=days)


def _list_order(state: str, severity: str, number: int) -> int:
    rank = STATES.index(state) * 10 + SEVERITIES.index(severity)
    return rank * ORDER_SPAN + (ORDER_SPAN - 1 - number)


def upgrade() -> None:
    # Added in place, never by copying ``cases`` (the events and the outbox refer to it).
    op.add_column("cases", sa.Column("report_due", sa.Date(), nullable=True))
    op.add_column("cases", sa.Column("list_order", sa.BigInteger(), nullable=True))
    op.create_index("ix_cases_report_due", "cases", ["report_due"], unique=False)
    op.create_index("ix_cases_list_order", "cases", ["list_order"], unique=False)
    op.create_index("ix_cases_owner_order", "cases", ["owner_id", "list_order"], unique=False)
    op.create_index("ix_cases_reporter_number", "cases", ["reporter_id", "number"], unique=False)
    fired = sa.text("fired > 0 AND status != 'cancelled'")
    op.create_index(
        "ix_timers_fired",
        "timers",
        ["anchor_at", "case_id", "kind"],
        unique=False,
        sqlite_where=fired,
        postgresql_where=fired,
    )
    unsettled = sa.text("status IN ('queued', 'sent', 'failed')")
    op.create_index(
        "ix_partner_notices_unsettled",
        "partner_notices",
        ["sent_at", "created_at"],
        unique=False,
        sqlite_where=unsettled,
        postgresql_where=unsettled,
    )

    op.create_table(
        "measures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("proposer_id", sa.String(length=32), nullable=False),
        sa.Column("measure", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name="fk_measures_case_id_cases"),
        sa.PrimaryKeyConstraint("id", name="pk_measures"),
        sa.UniqueConstraint("case_id", "position", name="uq_measures_case_position"),
    )
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.create_index("ix_measures_case_id", ["case_id"], unique=False)
        batch_op.create_index("ix_measures_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_measures_proposer_id", ["proposer_id"], unique=False)

    connection = op.get_bind()
    found_cases = connection.execute(
        sa.select(cases.c.id, cases.c.details, cases.c.state, cases.c.severity, cases.c.number)
    ).all()
    for case_id, details, state, severity, number in found_cases:
        details = dict(details or {})
        found = [(m, False) for m in details.pop("earlier_measures", None) or []]
        if details.get("measure"):
            found.append((details["measure"], True))
        details.pop("measure", None)
        # Written by versions before 0005 and never read since (the panels map replaced it).
        details.pop("duties_panel", None)
        for position, (measure, current) in enumerate(found, start=1):
            status = _status(measure, current)
            connection.execute(
                measures.insert().values(
                    case_id=case_id,
                    position=position,
                    status=status,
                    owner_id=measure["owner"],
                    proposer_id=measure["proposer"],
                    measure={**measure, "status": status},
                )
            )
        connection.execute(
            cases.update()
            .where(cases.c.id == case_id)
            .values(
                details=details,
                report_due=_report_due(details, state),
                list_order=_list_order(state, severity, number),
            )
        )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(measures.c.case_id, measures.c.status, measures.c.measure).order_by(
            measures.c.case_id, measures.c.position
        )
    ).all()
    by_case: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for case_id, status, measure in rows:
        by_case.setdefault(case_id, []).append((status, dict(measure)))
    for case_id, found in by_case.items():
        (details,) = connection.execute(
            sa.select(cases.c.details).where(cases.c.id == case_id)
        ).one()
        details = dict(details or {})
        earlier = []
        for status, measure in found:
            measure.pop("status", None)
            if status == "current":
                details["measure"] = measure
            else:
                earlier.append(measure)
        if earlier:
            details["earlier_measures"] = earlier
        connection.execute(cases.update().where(cases.c.id == case_id).values(details=details))
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_index("ix_measures_proposer_id")
        batch_op.drop_index("ix_measures_owner_id")
        batch_op.drop_index("ix_measures_case_id")
    op.drop_table("measures")
    # Not in batch mode: on SQLite that would copy ``cases``, which the foreign keys of the
    # events and the outbox forbid; SQLite (3.35+) drops an unindexed column in place.
    op.drop_index("ix_partner_notices_unsettled", table_name="partner_notices")
    op.drop_index("ix_timers_fired", table_name="timers")
    for index in (
        "ix_cases_reporter_number",
        "ix_cases_owner_order",
        "ix_cases_list_order",
        "ix_cases_report_due",
    ):
        op.drop_index(index, table_name="cases")
    op.drop_column("cases", "list_order")
    op.drop_column("cases", "report_due")
