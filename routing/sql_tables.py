"""SQL table definitions of the system of record (SQLAlchemy Core), apart from repository code.

Enumerations are stored as their string (or tier integer) values. History tables (messages,
tickets, transitions, feedback, audit) reference staff by id without a foreign key: the history
must outlive changes to the staff directory. The Alembic migrations in alembic/versions/ create
exactly these tables; a test compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.expression import true
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

ID = 64
"""Length of every identifier column."""
HASH = 64
"""Length of a hex SHA-256 (the audit chain's hashes)."""


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores no zone; PostgreSQL timestamptz).

    Naive datetimes are refused on the way in, so no local time ever reaches the record.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; the record stores UTC-aware times")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> TypeEngine[Any]:
    """JSON on SQLite, JSONB on PostgreSQL."""
    return JSON().with_variant(JSONB(), "postgresql")


staff = Table(
    "staff",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(32), nullable=False),
    Column("skills", String(200), nullable=False, server_default=""),
    Column("max_concurrency", Integer, nullable=False),
    Column("branch", String(100), nullable=False),
    Column("practice_number", String(32), nullable=True),
    Column("backup_id", String(ID), nullable=True),
    Column("wecom_user_id", String(ID), nullable=True, unique=True),
    Column("password_hash", String(255), nullable=True),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("token_version", Integer, nullable=False, server_default="0"),
    CheckConstraint("max_concurrency > 0", name="max_concurrency_positive"),
)
Index(None, staff.c.role)

clients = Table(
    "clients",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("tier", String(32), nullable=False),
    Column("vip", Boolean, nullable=False),
    Column("branch", String(100), nullable=False),
    Column("responder_id", String(ID), nullable=False),
    Column("wecom_id", String(ID), nullable=True, unique=True),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("client_id", String(ID), ForeignKey("clients.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("state", String(32), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("queue", String(16), nullable=True),
    Column("assignee_id", String(ID), nullable=True),
    Column("ticket_id", String(ID), nullable=True),
    Column("escalation_reason", String(32), nullable=True),
    Column("version", Integer, nullable=False, server_default="0"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("version >= 0", name="version_not_negative"),
)
Index(None, conversations.c.client_id)
Index(None, conversations.c.state)
Index(None, conversations.c.assignee_id)
Index(None, conversations.c.created_at)
OPEN_CONVERSATION_INDEX = "uq_conversations_open_client_channel"
"""At most one conversation per client and channel that is not closed (a partial unique index)."""
Index(
    OPEN_CONVERSATION_INDEX,
    conversations.c.client_id,
    conversations.c.channel,
    unique=True,
    sqlite_where=conversations.c.state != "closed",
    postgresql_where=conversations.c.state != "closed",
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("sender", String(16), nullable=False),
    Column("text", Text, nullable=False),
    Column("payload", json_type(), nullable=False),
    Column("served_tier", Integer, nullable=True),
    Column("served_staff_id", String(ID), nullable=True),
    Column("served_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("client_msg_id", String(64), nullable=True),
    UniqueConstraint("conversation_id", "seq"),
    CheckConstraint("seq > 0", name="seq_positive"),
)
CLIENT_MESSAGE_INDEX = "uq_messages_conversation_client_msg_id"
"""A client's message id is stored once per conversation (a resend after a lost answer is not a second message)."""
Index(CLIENT_MESSAGE_INDEX, messages.c.conversation_id, messages.c.client_msg_id, unique=True)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    Column("client_id", String(ID), nullable=False),
    Column("queue", String(16), nullable=True),
    Column("priority", Integer, nullable=False),
    Column("vip", Boolean, nullable=False),
    Column("tier", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("question", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("enqueued_at", UtcDateTime, nullable=False),
    Column("assigned_to", String(ID), nullable=True),
    Column("assigned_at", UtcDateTime, nullable=True),
    Column("first_response_at", UtcDateTime, nullable=True),
    Column("resolved_at", UtcDateTime, nullable=True),
    Column("responder_step", Integer, nullable=True),
    Column("responder_deadline", UtcDateTime, nullable=True),
)
Index(None, tickets.c.conversation_id)
Index(None, tickets.c.status)
Index(None, tickets.c.enqueued_at)
Index("ix_tickets_queue_resolved_at", tickets.c.queue, tickets.c.resolved_at)

transitions = Table(
    "transitions",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("from_state", String(32), nullable=False),
    Column("to_state", String(32), nullable=False),
    Column("actor", String(ID), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("reason", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index(None, transitions.c.conversation_id)
Index(None, transitions.c.at)

feedback = Table(
    "feedback",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    Column("ticket_id", String(ID), nullable=True),
    Column("tier", Integer, nullable=False),
    Column("staff_id", String(ID), nullable=True),
    Column("resolved", Boolean, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)
Index(None, feedback.c.conversation_id)
Index(None, feedback.c.at)

satisfaction_ratings = Table(
    "satisfaction_ratings",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("conversation_id", String(ID), ForeignKey("conversations.id"), nullable=False),
    Column("score", Integer, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("staff_id", String(ID), nullable=True),
    Column("ticket_id", String(ID), nullable=True),
    Column("queue", String(16), nullable=True),
    Column("resolved_at", UtcDateTime, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    UniqueConstraint("conversation_id", "resolved_at"),
    CheckConstraint("score BETWEEN 1 AND 5", name="score_1_to_5"),
)
"""Clients' 1–5 ratings of resolved questions: one per resolution (the 问题已解答 at `resolved_at`)."""
Index(None, satisfaction_ratings.c.at)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("actor", String(ID), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("detail", json_type(), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("prev_hash", String(HASH), nullable=False),
    Column("hash", String(HASH), nullable=False),
    CheckConstraint("seq > 0", name="seq_positive"),
)
Index(None, audit_log.c.at)

audit_chain_head = Table(
    "audit_chain_head",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(HASH), nullable=False),
    CheckConstraint("id = 1", name="single_row"),
)
"""The audit chain's last link (one row): appends lock it, so every worker extends one chain."""


api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(ID), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)
"""Integration API keys (handoff_api.api_keys): a public id, a name, scopes and the SHA-256 of the whole key."""
ACTIVE_API_KEY_NAME_INDEX = "uq_api_keys_active_name"
"""One key that is not revoked per name (a revoked key's name can be given to a new key)."""
Index(
    ACTIVE_API_KEY_NAME_INDEX,
    api_keys.c.name,
    unique=True,
    sqlite_where=api_keys.c.revoked_at.is_(None),
    postgresql_where=api_keys.c.revoked_at.is_(None),
)

# Compliance search (0011): messages by the staff member who served them (conversations.created_at is indexed above).
Index(None, messages.c.served_staff_id)

canned_replies = Table(
    "canned_replies",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("team", String(16), nullable=False),
    Column("title", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("updated_by", String(ID), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
"""Canned replies of the console (routing.canned), per team (advisor, service, responder or all)."""
Index(None, canned_replies.c.team)

staff_refresh_tokens = Table(
    "staff_refresh_tokens",
    metadata,
    Column("token_hash", String(HASH), primary_key=True),
    Column("staff_id", String(ID), nullable=False),
    Column("family_id", String(ID), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("rotated_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
)
"""Staff refresh tokens (routing.sessions): only the SHA-256 of each opaque token, its family and its state."""
Index(None, staff_refresh_tokens.c.staff_id)
Index(None, staff_refresh_tokens.c.family_id)
