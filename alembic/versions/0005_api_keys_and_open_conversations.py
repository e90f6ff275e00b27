"""Integration API keys, and one open conversation per client and channel.

- `api_keys`: named, scoped keys for integrations; only the SHA-256 of a key is stored, looked up by its
  public id. A name belongs to at most one key that is not revoked (partial unique index).
- `uq_conversations_open_client_channel`: a partial unique index on conversations(client_id, channel)
  where state <> 'closed'. Before it is created, a client's extra open conversations on one channel (made
  before this rule) are closed: the one kept is the one being served (with an agent or responder), else
  waiting for a person, else the most recently updated; each closed one gets a `close` transition by
  `system`, and its live ticket is closed. A downgrade drops the index and the table; conversations
  closed by the upgrade stay closed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

OPEN_INDEX = "uq_conversations_open_client_channel"
KEY_NAME_INDEX = "uq_api_keys_active_name"
CLOSE_REASON = "migration 0005: one open conversation per client and channel"
KEEP_FIRST = {"with_agent": 0, "with_responder": 0, "awaiting_responder": 1, "queued": 1}
"""Which of a client's open conversations on one channel is kept (lowest first; the rest rank 2)."""

conversations = sa.table(
    "conversations",
    sa.column("id", sa.String),
    sa.column("client_id", sa.String),
    sa.column("channel", sa.String),
    sa.column("state", sa.String),
    sa.column("tier", sa.Integer),
    sa.column("ticket_id", sa.String),
    sa.column("version", sa.Integer),
    sa.column("updated_at", sa.DateTime(timezone=True)),
)
transitions = sa.table(
    "transitions",
    sa.column("conversation_id", sa.String),
    sa.column("name", sa.String),
    sa.column("from_state", sa.String),
    sa.column("to_state", sa.String),
    sa.column("actor", sa.String),
    sa.column("tier", sa.Integer),
    sa.column("reason", sa.String),
    sa.column("at", sa.DateTime(timezone=True)),
)
tickets = sa.table("tickets", sa.column("conversation_id", sa.String), sa.column("status", sa.String))


def _now(bind: sa.Connection) -> datetime:
    """Now in UTC, as the record stores it (naive UTC on SQLite, aware on PostgreSQL)."""
    now = datetime.now(UTC)
    return now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now


def _extra_open_conversations(bind: sa.Connection) -> list[Any]:
    """Every open conversation that is not the one kept for its client and channel."""
    rows = bind.execute(sa.select(conversations).where(conversations.c.state != "closed")).all()
    by_owner: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        by_owner[(row.client_id, row.channel)].append(row)
    extra = []
    for group in by_owner.values():
        group.sort(key=lambda row: (row.updated_at, row.id), reverse=True)
        group.sort(key=lambda row: KEEP_FIRST.get(row.state, 2))
        extra.extend(group[1:])
    return extra


def _close_extra_open_conversations(bind: sa.Connection) -> None:
    now = _now(bind)
    for row in _extra_open_conversations(bind):
        bind.execute(
            sa.update(conversations)
            .where(conversations.c.id == row.id)
            .values(state="closed", version=row.version + 1, updated_at=now)
        )
        bind.execute(
            sa.insert(transitions).values(
                conversation_id=row.id,
                name="close",
                from_state=row.state,
                to_state="closed",
                actor="system",
                tier=row.tier,
                reason=CLOSE_REASON,
                at=now,
            )
        )
        bind.execute(
            sa.update(tickets)
            .where(tickets.c.conversation_id == row.id, tickets.c.status.in_(["open", "assigned"]))
            .values(status="closed")
        )


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(200), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
    )
    op.create_index(
        KEY_NAME_INDEX,
        "api_keys",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )
    _close_extra_open_conversations(op.get_bind())
    op.create_index(
        OPEN_INDEX,
        "conversations",
        ["client_id", "channel"],
        unique=True,
        sqlite_where=sa.text("state != 'closed'"),
        postgresql_where=sa.text("state != 'closed'"),
    )


def downgrade() -> None:
    op.drop_index(OPEN_INDEX, table_name="conversations")
    op.drop_index(KEY_NAME_INDEX, table_name="api_keys")
    op.drop_table("api_keys")
