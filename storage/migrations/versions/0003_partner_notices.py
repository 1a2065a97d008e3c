"""partner notices

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("measure_version", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure", sa.String(length=255), nullable=True),
        sa.Column("slack_channel", sa.String(length=32), nullable=True),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("ack_by", sa.String(length=32), nullable=True),
        sa.Column("ack_team", sa.String(length=32), nullable=True),
        sa.Column("ack_at", UTCDateTime(), nullable=True),
        sa.Column("staff_clicks", sa.JSON(), nullable=False),
        sa.Column("waived_by", sa.String(length=32), nullable=True),
        sa.Column("waived_reason", sa.Text(), nullable=True),
        sa.Column("waived_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_partner_notices_case_id_cases")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_partner_notices_partner_id_partners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_notices")),
        sa.UniqueConstraint(
            "case_id", "partner_id", "measure_version", name="uq_partner_notices_once"
        ),
    )
    with op.batch_alter_table("partner_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_partner_notices_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("partner_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_partner_notices_case_id"))

    op.drop_table("partner_notices")
