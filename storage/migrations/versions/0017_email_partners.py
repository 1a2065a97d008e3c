"""e-mail partners and receipts by link (issue 17)

Revision ID: 0017
Revises: 0022

Columns are added, not altered, on the tables other tables point at (``partners``): SQLite
alters a column by copying the table, which its foreign keys refuse while rows point at it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "partners",
        sa.Column("emails", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )
    op.add_column("partner_notices", sa.Column("receipt", sa.JSON(), nullable=True))
    with op.batch_alter_table("outbox") as batch:  # an e-mail's target is its address
        batch.alter_column("target", existing_type=sa.String(length=64), type_=sa.String(255))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("target", existing_type=sa.String(length=255), type_=sa.String(64))
    op.drop_column("partner_notices", "receipt")
    op.drop_column("partners", "emails")
