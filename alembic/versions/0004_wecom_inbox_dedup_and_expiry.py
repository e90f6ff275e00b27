"""WeCom inbox: a unique de-duplication key (MsgId or fallback key) per item, and an index for its expiry.

The callback used to mark a message seen in the idempotency store before storing it, so a failed
insert (or a worker dying in between) left the message marked and its redelivery was dropped.
The inbox itself now recognises duplicates: rows stored before this revision get the key
'legacy:<id>', which no new message has. Handled and given-up rows are deleted after their
retention, found by status and arrival time (ix_wecom_inbox_status_created).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

UNIQUE_KEY = "uq_wecom_inbox_dedup_key"
EXPIRY_INDEX = "ix_wecom_inbox_status_created"


def upgrade() -> None:
    with op.batch_alter_table("wecom_inbox") as batch:
        batch.add_column(sa.Column("dedup_key", sa.String(255), nullable=True))
    op.execute("UPDATE wecom_inbox SET dedup_key = 'legacy:' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("wecom_inbox") as batch:
        batch.alter_column("dedup_key", existing_type=sa.String(255), nullable=False)
        batch.create_unique_constraint(UNIQUE_KEY, ["dedup_key"])
    op.create_index(EXPIRY_INDEX, "wecom_inbox", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index(EXPIRY_INDEX, table_name="wecom_inbox")
    with op.batch_alter_table("wecom_inbox") as batch:
        batch.drop_constraint(UNIQUE_KEY, type_="unique")
        batch.drop_column("dedup_key")
