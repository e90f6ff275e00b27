"""WeCom channel: which WeCom identity each conversation uses, and small durable channel state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "wecom_conversations",
        sa.Column("conversation_id", sa.String(64), nullable=False),
        sa.Column("wecom_user_id", sa.String(128), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("open_kfid", sa.String(128), nullable=True),
        sa.Column("relayed_seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    op.create_index("ix_wecom_conversations_user_created", "wecom_conversations", ["wecom_user_id", "created_at"])
    op.create_table(
        "wecom_state",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(1024), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("wecom_state")
    op.drop_index("ix_wecom_conversations_user_created", table_name="wecom_conversations")
    op.drop_table("wecom_conversations")
