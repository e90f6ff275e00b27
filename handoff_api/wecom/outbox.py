"""Outbox of WeCom messages that could not be sent yet: nothing outbound is dropped silently.

`due()` leases the messages it returns (their next attempt moves lease_seconds ahead), so two
drainers in two workers never send the same message at the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncEngine

DEFAULT_LEASE_SECONDS = 60.0


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """One stored outbound message; payload is the WeCom request body (never the token)."""

    id: int
    kind: str
    payload: Mapping[str, Any]
    status: OutboxStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


class Outbox(Protocol):
    """Durable store of outbound messages awaiting (re)delivery."""

    async def add(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        next_attempt_at: datetime,
        attempts: int = 0,
        last_error: str | None = None,
    ) -> int: ...

    async def due(
        self, now: datetime, limit: int = 50, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> list[OutboxMessage]: ...

    async def mark_sent(self, message_id: int, sent_at: datetime) -> None: ...

    async def mark_failed(self, message_id: int, error: str, next_attempt_at: datetime | None) -> None:
        """Count a failed attempt; next_attempt_at=None gives up (status failed, kept for review)."""
        ...

    async def get(self, message_id: int) -> OutboxMessage | None: ...


def _require_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("outbox timestamps must be timezone-aware")
    return value.astimezone(UTC)


class MemoryOutbox:
    """Outbox in process memory (tests and single-process development)."""

    def __init__(self) -> None:
        self._messages: dict[int, OutboxMessage] = {}
        self._next_id = 1
        self._lock = asyncio.Lock()

    async def add(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        next_attempt_at: datetime,
        attempts: int = 0,
        last_error: str | None = None,
    ) -> int:
        async with self._lock:
            message_id = self._next_id
            self._next_id += 1
            self._messages[message_id] = OutboxMessage(
                id=message_id,
                kind=kind,
                payload=dict(payload),
                status=OutboxStatus.PENDING,
                attempts=attempts,
                last_error=last_error,
                next_attempt_at=_require_aware(next_attempt_at),
                created_at=datetime.now(UTC),
                sent_at=None,
            )
            return message_id

    async def due(
        self, now: datetime, limit: int = 50, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> list[OutboxMessage]:
        now = _require_aware(now)
        lease_until = now + timedelta(seconds=lease_seconds)
        async with self._lock:
            ready = [
                message
                for message in sorted(self._messages.values(), key=lambda m: m.id)
                if message.status is OutboxStatus.PENDING and message.next_attempt_at <= now
            ][:limit]
            for message in ready:
                self._messages[message.id] = replace(message, next_attempt_at=lease_until)
            return [self._messages[message.id] for message in ready]

    async def mark_sent(self, message_id: int, sent_at: datetime) -> None:
        async with self._lock:
            message = self._messages[message_id]
            self._messages[message_id] = replace(
                message,
                status=OutboxStatus.SENT,
                sent_at=_require_aware(sent_at),
                attempts=message.attempts + 1,
            )

    async def mark_failed(self, message_id: int, error: str, next_attempt_at: datetime | None) -> None:
        async with self._lock:
            message = self._messages[message_id]
            self._messages[message_id] = replace(
                message,
                status=OutboxStatus.PENDING if next_attempt_at else OutboxStatus.FAILED,
                attempts=message.attempts + 1,
                last_error=error,
                next_attempt_at=_require_aware(next_attempt_at) if next_attempt_at else message.next_attempt_at,
            )

    async def get(self, message_id: int) -> OutboxMessage | None:
        return self._messages.get(message_id)


wecom_metadata = MetaData()


def _retry_table(name: str) -> Table:
    """A durable table of work items retried until done (the outbox, and the inbox of callbacks)."""
    return Table(
        name,
        wecom_metadata,
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("kind", String(32), nullable=False),
        Column("payload", JSON, nullable=False),
        Column("status", String(16), nullable=False, default=OutboxStatus.PENDING.value),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
        Column("next_attempt_at", DateTime(timezone=True), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        Index(f"ix_{name}_status_next_attempt", "status", "next_attempt_at"),
    )


wecom_outbox = _retry_table("wecom_outbox")
"""Outbound WeCom requests not sent yet."""
wecom_inbox = _retry_table("wecom_inbox")
"""Accepted inbound callbacks until handled (status sent = handled); see handoff_api.wecom.inbox."""


def _as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every value stored here is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row_to_message(row: Any) -> OutboxMessage:
    return OutboxMessage(
        id=row.id,
        kind=row.kind,
        payload=row.payload,
        status=OutboxStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=_as_utc(row.next_attempt_at),
        created_at=_as_utc(row.created_at),
        sent_at=_as_utc(row.sent_at) if row.sent_at is not None else None,
    )


class SqlOutbox:
    """Outbox in the SQL system of record (SQLite or PostgreSQL): table wecom_outbox, or wecom_inbox."""

    def __init__(self, engine: AsyncEngine, table: Table = wecom_outbox) -> None:
        self._engine = engine
        self._table = table

    async def add(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        next_attempt_at: datetime,
        attempts: int = 0,
        last_error: str | None = None,
    ) -> int:
        statement = (
            insert(self._table)
            .values(
                kind=kind,
                payload=dict(payload),
                status=OutboxStatus.PENDING.value,
                attempts=attempts,
                last_error=last_error,
                next_attempt_at=_require_aware(next_attempt_at),
                created_at=datetime.now(UTC),
            )
            .returning(self._table.c.id)
        )
        async with self._engine.begin() as connection:
            return int((await connection.execute(statement)).scalar_one())

    async def due(
        self, now: datetime, limit: int = 50, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> list[OutboxMessage]:
        now = _require_aware(now)
        lease_until = now + timedelta(seconds=lease_seconds)
        table = self._table
        candidates = (
            select(table.c.id, table.c.next_attempt_at)
            .where(table.c.status == OutboxStatus.PENDING.value, table.c.next_attempt_at <= now)
            .order_by(table.c.id)
            .limit(limit)
        )
        claimed: list[int] = []
        async with self._engine.begin() as connection:
            for candidate in (await connection.execute(candidates)).all():
                # Optimistic claim: only one drainer moves next_attempt_at from the value it read.
                result = await connection.execute(
                    update(table)
                    .where(
                        table.c.id == candidate.id,
                        table.c.status == OutboxStatus.PENDING.value,
                        table.c.next_attempt_at == candidate.next_attempt_at,
                    )
                    .values(next_attempt_at=lease_until)
                )
                if result.rowcount == 1:
                    claimed.append(candidate.id)
            if not claimed:
                return []
            rows = await connection.execute(select(table).where(table.c.id.in_(claimed)).order_by(table.c.id))
            return [_row_to_message(row) for row in rows]

    async def mark_sent(self, message_id: int, sent_at: datetime) -> None:
        statement = (
            update(self._table)
            .where(self._table.c.id == message_id)
            .values(
                status=OutboxStatus.SENT.value,
                sent_at=_require_aware(sent_at),
                attempts=self._table.c.attempts + 1,
            )
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def mark_failed(self, message_id: int, error: str, next_attempt_at: datetime | None) -> None:
        values: dict[str, Any] = {"attempts": self._table.c.attempts + 1, "last_error": error}
        if next_attempt_at is None:
            values["status"] = OutboxStatus.FAILED.value
        else:
            values["next_attempt_at"] = _require_aware(next_attempt_at)
        async with self._engine.begin() as connection:
            await connection.execute(update(self._table).where(self._table.c.id == message_id).values(**values))

    async def get(self, message_id: int) -> OutboxMessage | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(self._table).where(self._table.c.id == message_id))).first()
        return _row_to_message(row) if row is not None else None
