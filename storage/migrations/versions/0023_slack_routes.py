"""Several workspaces on one deployment (issue 22): which installation reaches each channel
and user, found once and shared by every replica.

Revision ID: 0023
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0023"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_routes",
        sa.Column("target", sa.String(length=32), nullable=False),
        sa.Column("install_key", sa.String(length=80), nullable=False),
        sa.Column("found_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_slack_routes")),
    )


def downgrade() -> None:
    op.drop_table("slack_routes")
