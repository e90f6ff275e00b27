"""The WeCom channel's tables, on routing's single MetaData (Alembic creates them: see alembic/versions/)."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Integer, String, Table, Text, UniqueConstraint

from handoff_api.wecom.outbox import OutboxStatus
from routing.sql_tables import UtcDateTime, metadata

PENDING, DONE, FAILED = OutboxStatus.PENDING.value, OutboxStatus.SENT.value, OutboxStatus.FAILED.value
"""The status values both retry tables store (the inbox's handled is stored as sent)."""

wecom_conversations = Table(
    "wecom_conversations",
    metadata,
    Column("conversation_id", String(64), primary_key=True),
    Column("wecom_user_id", String(128), nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("open_kfid", String(128), nullable=True),
    Column("relayed_seq", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Index("ix_wecom_conversations_user_created", "wecom_user_id", "created_at"),
)

wecom_state = Table(
    "wecom_state",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", String(1024), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
)


def _retry_table(name: str, *extra: Column[Any] | UniqueConstraint | Index) -> Table:
    """A durable table of work items retried until done (the outbox, and the inbox of callbacks), plus extra."""
    return Table(
        name,
        metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("kind", String(32), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("status", String(16), nullable=False, default=PENDING),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index(f"ix_{name}_status_next_attempt", "status", "next_attempt_at"),
        *extra,
    )


wecom_outbox = _retry_table("wecom_outbox")
"""Outbound WeCom requests not sent yet."""

DEDUP_KEY_LENGTH = 255

wecom_inbox = _retry_table(
    "wecom_inbox",
    Column("dedup_key", String(DEDUP_KEY_LENGTH), nullable=False),
    UniqueConstraint("dedup_key"),
    Index("ix_wecom_inbox_status_created", "status", "created_at"),
)
"""Accepted inbound callbacks until handled (status sent = handled), one per MsgId or fallback key,
deleted after their retention (by status and arrival); see handoff_api.wecom.inbox."""


def stored_key(key: str) -> str:
    """The key as the dedup_key column holds it: itself, or its SHA-256 if it is too long for the column."""
    if len(key) <= DEDUP_KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
