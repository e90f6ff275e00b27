"""The client's own message ids: a message resent after a lost answer is stored once.

- `messages.client_msg_id` (nullable): the id the widget or an integration gave the message.
- `uq_messages_conversation_client_msg_id`: unique on (conversation_id, client_msg_id); rows without an id
  (every message stored before this revision, and staff, bot and system messages) do not collide.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision: str = "0013"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

INDEX = "uq_messages_conversation_client_msg_id"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("client_msg_id", sa.String(64), nullable=True))
    op.create_index(INDEX, "messages", ["conversation_id", "client_msg_id"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("client_msg_id")
