"""outbox edits: find a newer edit of the same post

Revision ID: 0007
Revises: 0006

An edit's target is now the outbox key of the post it edits (it was the channel); before an edit
is sent, the outbox looks for a newer edit of the same post (which shows newer state) and skips
the older one. Existing edit rows get their post's key, read from their payload as it was.
Rows queued before this revision hold no rendered text; the senders render those when sent.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("case_id", sa.Integer),
    sa.column("target", sa.String),
    sa.column("payload", sa.JSON),
)


def _post_key(kind: str, case_id: int | None, payload: dict[str, Any]) -> str | None:
    if kind == "card_update":
        return f"card:{case_id}:post"
    if kind == "step_done":
        return str(payload["step"])
    if kind == "panel_update":
        return str(payload["post"])
    if kind == "notice_update":
        return f"notice:{payload['notice_id']}"
    return None


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    edits = ("card_update", "step_done", "panel_update", "notice_update")
    found = connection.execute(
        sa.select(outbox.c.id, outbox.c.kind, outbox.c.case_id, outbox.c.payload).where(
            outbox.c.kind.in_(edits)
        )
    ).all()
    for row_id, kind, case_id, payload in found:
        key = _post_key(kind, case_id, dict(payload or {}))
        connection.execute(outbox.update().where(outbox.c.id == row_id).values(target=key))
    op.create_index("ix_outbox_edits", "outbox", ["target", "kind", "id"], unique=False)


def downgrade() -> None:
    # Edit targets stay post keys: the code before this revision never read an edit's target.
    op.drop_index("ix_outbox_edits", table_name="outbox")
