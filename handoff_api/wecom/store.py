"""The WeCom channel's SQL tables and stores (SQLite or PostgreSQL).

The tables are defined on routing's single MetaData (routing.sql_tables.metadata), so that Alembic
sees one schema; the migrations in alembic/versions/ create them, nothing here creates tables.

- wecom_conversations: which WeCom identity each conversation talks through (ConversationLinks);
- wecom_state: small durable values: the 微信客服 sync cursors, written by SqlInbox with each pulled page;
- wecom_outbox: outbound WeCom requests not sent yet (SqlOutbox);
- wecom_inbox: accepted inbound callbacks until handled (SqlInbox; status sent = handled).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from handoff_api.wecom.identity import ConversationLink, IdentityKind
from handoff_api.wecom.inbox import CursorUpdate, InboxItem, InboxStatus
from handoff_api.wecom.outbox import DEFAULT_LEASE_SECONDS, OutboxMessage, OutboxStatus, require_aware
from routing.memory import SystemClock
from routing.ports import Clock
from routing.sql_tables import UtcDateTime, metadata

Item = TypeVar("Item")

PENDING, DONE, FAILED = OutboxStatus.PENDING.value, OutboxStatus.SENT.value, OutboxStatus.FAILED.value
"""The status values both retry tables store (the inbox's handled is stored as sent)."""

# --------------------------------------------------------------------------- tables

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


def _retry_table(name: str) -> Table:
    """A durable table of work items retried until done (the outbox, and the inbox of callbacks)."""
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
    )


wecom_outbox = _retry_table("wecom_outbox")
"""Outbound WeCom requests not sent yet."""
wecom_inbox = _retry_table("wecom_inbox")
"""Accepted inbound callbacks until handled (status sent = handled); see handoff_api.wecom.inbox."""


# --------------------------------------------------------------------------- conversation links


def _link(row: Any) -> ConversationLink:
    return ConversationLink(
        conversation_id=row.conversation_id,
        wecom_user_id=row.wecom_user_id,
        client_id=row.client_id,
        kind=IdentityKind(row.kind),
        open_kfid=row.open_kfid,
        created_at=row.created_at,
        relayed_seq=row.relayed_seq,
    )


class ConversationLinks:
    """SQL store of conversation links, table wecom_conversations."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, conversation_id: str) -> ConversationLink | None:
        """The link of one conversation, or None if it did not start in WeCom."""
        statement = select(wecom_conversations).where(wecom_conversations.c.conversation_id == conversation_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return _link(row) if row is not None else None

    async def for_user(self, wecom_user_id: str, client_id: str, limit: int = 20) -> list[ConversationLink]:
        """The identity's conversations as this client, newest first."""
        table = wecom_conversations
        statement = (
            select(table)
            .where(table.c.wecom_user_id == wecom_user_id, table.c.client_id == client_id)
            .order_by(table.c.created_at.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_link(row) for row in await connection.execute(statement)]

    async def recent(self, since: datetime) -> list[ConversationLink]:
        """Links touched since the given instant (for catching up on replies after a restart)."""
        statement = select(wecom_conversations).where(wecom_conversations.c.updated_at >= since)
        async with self._engine.connect() as connection:
            return [_link(row) for row in await connection.execute(statement)]

    async def add(self, link: ConversationLink) -> None:
        """Store a new link."""
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(wecom_conversations).values(
                    conversation_id=link.conversation_id,
                    wecom_user_id=link.wecom_user_id,
                    client_id=link.client_id,
                    kind=link.kind,
                    open_kfid=link.open_kfid,
                    relayed_seq=link.relayed_seq,
                    created_at=link.created_at,
                    updated_at=link.created_at,
                )
            )

    async def touch(self, conversation_id: str, kind: IdentityKind, open_kfid: str | None, at: datetime) -> None:
        """Remember the route the client used last (a 微信客服 account may change)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(wecom_conversations)
                .where(wecom_conversations.c.conversation_id == conversation_id)
                .values(kind=kind, open_kfid=open_kfid, updated_at=at)
            )

    async def advance(self, conversation_id: str, seq: int) -> None:
        """Record that messages up to seq were handed to WeCom (never moves backwards)."""
        table = wecom_conversations
        async with self._engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(table.c.conversation_id == conversation_id, table.c.relayed_seq < seq)
                .values(relayed_seq=seq)
            )


# --------------------------------------------------------------------------- durable small values


def _upsert(connection: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT, which has on_conflict_do_update / on_conflict_do_nothing (SQLite, PostgreSQL)."""
    return (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(table)


async def _write_state(connection: AsyncConnection, key: str, value: str, expires_at: datetime) -> None:
    """Insert or overwrite one wecom_state value, inside the caller's transaction."""
    statement = _upsert(connection, wecom_state).values(key=key, value=value, expires_at=expires_at)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[wecom_state.c.key], set_={"value": value, "expires_at": expires_at}
        )
    )


async def _read_state(connection: AsyncConnection, key: str, now: datetime) -> str | None:
    """One wecom_state value, unless missing or expired."""
    statement = select(wecom_state.c.value).where(wecom_state.c.key == key, wecom_state.c.expires_at > now)
    value = (await connection.execute(statement)).scalar_one_or_none()
    return str(value) if value is not None else None


# --------------------------------------------------------------------------- outbox and inbox


def _as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; every value stored here is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _outbox_message(row: Any) -> OutboxMessage:
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


def _inbox_item(row: Any) -> InboxItem:
    return InboxItem(
        id=row.id,
        kind=row.kind,
        payload=row.payload,
        status=InboxStatus(row.status),
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=_as_utc(row.next_attempt_at),
        created_at=_as_utc(row.created_at),
        handled_at=_as_utc(row.sent_at) if row.sent_at is not None else None,
    )


class _SqlRetryQueue(Generic[Item]):
    """What the outbox and the inbox share: pending rows leased out when due, retried, or given up."""

    def __init__(self, engine: AsyncEngine, table: Table, to_item: Callable[[Any], Item], clock: Clock | None) -> None:
        self._engine = engine
        self._table = table
        self._to_item = to_item
        self._clock = clock or SystemClock()

    def _new_row(self, kind: str, payload: Mapping[str, Any], next_attempt_at: datetime) -> dict[str, Any]:
        return {
            "kind": kind,
            "payload": dict(payload),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": require_aware(next_attempt_at),
            "created_at": self._clock.now(),
        }

    async def due(self, now: datetime, limit: int = 50, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[Item]:
        """Pending rows due by now, in id order, each leased for lease_seconds (one taker per row)."""
        now = require_aware(now)
        lease_until = now + timedelta(seconds=lease_seconds)
        table = self._table
        candidates = (
            select(table.c.id, table.c.next_attempt_at)
            .where(table.c.status == PENDING, table.c.next_attempt_at <= now)
            .order_by(table.c.id)
            .limit(limit)
        )
        claimed: list[int] = []
        async with self._engine.begin() as connection:
            for candidate in (await connection.execute(candidates)).all():
                # Optimistic claim: only one taker moves next_attempt_at from the value it read.
                result = await connection.execute(
                    update(table)
                    .where(
                        table.c.id == candidate.id,
                        table.c.status == PENDING,
                        table.c.next_attempt_at == candidate.next_attempt_at,
                    )
                    .values(next_attempt_at=lease_until)
                )
                if result.rowcount == 1:
                    claimed.append(candidate.id)
            if not claimed:
                return []
            rows = await connection.execute(select(table).where(table.c.id.in_(claimed)).order_by(table.c.id))
            return [self._to_item(row) for row in rows]

    async def _mark_done(self, row_id: int, at: datetime) -> None:
        table = self._table
        statement = (
            update(table)
            .where(table.c.id == row_id)
            .values(status=DONE, sent_at=require_aware(at), attempts=table.c.attempts + 1)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def mark_failed(self, row_id: int, error: str, next_attempt_at: datetime | None) -> None:
        """Count a failed attempt; next_attempt_at=None gives up (status failed, kept for review)."""
        values: dict[str, Any] = {"attempts": self._table.c.attempts + 1, "last_error": error}
        if next_attempt_at is None:
            values["status"] = FAILED
        else:
            values["next_attempt_at"] = require_aware(next_attempt_at)
        async with self._engine.begin() as connection:
            await connection.execute(update(self._table).where(self._table.c.id == row_id).values(**values))

    async def get(self, row_id: int) -> Item | None:
        """One row by id."""
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(self._table).where(self._table.c.id == row_id))).first()
        return self._to_item(row) if row is not None else None


class SqlOutbox(_SqlRetryQueue[OutboxMessage]):
    """The Outbox in SQL: outbound WeCom requests not sent yet (table wecom_outbox)."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        super().__init__(engine, wecom_outbox, _outbox_message, clock)

    async def add(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        next_attempt_at: datetime,
        attempts: int = 0,
        last_error: str | None = None,
    ) -> int:
        """Store a request to send; its id."""
        values = self._new_row(kind, payload, next_attempt_at) | {"attempts": attempts, "last_error": last_error}
        async with self._engine.begin() as connection:
            inserted = await connection.execute(insert(wecom_outbox).values(**values).returning(wecom_outbox.c.id))
            return int(inserted.scalar_one())

    async def mark_sent(self, message_id: int, sent_at: datetime) -> None:
        """The request was delivered."""
        await self._mark_done(message_id, sent_at)


class SqlInbox(_SqlRetryQueue[InboxItem]):
    """The Inbox in SQL: accepted inbound callbacks and 微信客服 messages until handled (table wecom_inbox)."""

    def __init__(self, engine: AsyncEngine, clock: Clock | None = None) -> None:
        super().__init__(engine, wecom_inbox, _inbox_item, clock)

    async def add(self, kind: str, payload: Mapping[str, Any], *, next_attempt_at: datetime) -> int:
        """Store a new pending item; its id."""
        async with self._engine.begin() as connection:
            return await self._insert(connection, kind, payload, next_attempt_at)

    async def _insert(
        self, connection: AsyncConnection, kind: str, payload: Mapping[str, Any], next_attempt_at: datetime
    ) -> int:
        values = self._new_row(kind, payload, next_attempt_at)
        inserted = await connection.execute(insert(wecom_inbox).values(**values).returning(wecom_inbox.c.id))
        return int(inserted.scalar_one())

    async def add_pulled(
        self,
        kind: str,
        payloads: Sequence[Mapping[str, Any]],
        *,
        next_attempt_at: datetime,
        cursor: CursorUpdate | None,
    ) -> list[int]:
        """Store a pulled page's items and the sync cursor after it in one transaction; the items' ids."""
        async with self._engine.begin() as connection:
            ids = [await self._insert(connection, kind, payload, next_attempt_at) for payload in payloads]
            if cursor is not None:
                await _write_state(connection, cursor.key, cursor.value, require_aware(cursor.expires_at))
            return ids

    async def cursor(self, key: str) -> str | None:
        """The stored sync cursor, unless missing or expired (table wecom_state)."""
        async with self._engine.connect() as connection:
            return await _read_state(connection, key, self._clock.now())

    async def mark_handled(self, item_id: int, at: datetime) -> None:
        """The item was handled."""
        await self._mark_done(item_id, at)
