"""The outbox and the inbox in SQL, with the 微信客服 sync cursors the inbox stores with each pulled page.

Both are retry queues over tables of the same shape (wecom_outbox, wecom_inbox): pending rows are
leased out when due, marked done, or retried with backoff until given up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from handoff_api.wecom.inbox import CursorUpdate, InboxItem, InboxStatus, Keyed
from handoff_api.wecom.outbox import DEFAULT_LEASE_SECONDS, Backlog, OutboxMessage, OutboxStatus, require_aware
from handoff_api.wecom.store.tables import DONE, FAILED, PENDING, stored_key, wecom_inbox, wecom_outbox, wecom_state
from routing.memory import SystemClock
from routing.ports import Clock

Item = TypeVar("Item")


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

    async def backlog(self) -> Backlog:
        """Pending and given-up rows, and when the oldest pending one was stored (one grouped query)."""
        table = self._table
        statement = (
            select(table.c.status, func.count(), func.min(table.c.created_at))
            .where(table.c.status.in_([PENDING, FAILED]))
            .group_by(table.c.status)
        )
        async with self._engine.connect() as connection:
            rows = {row[0]: (int(row[1]), row[2]) for row in await connection.execute(statement)}
        pending, oldest = rows.get(PENDING, (0, None))
        return Backlog(pending, rows.get(FAILED, (0, None))[0], _as_utc(oldest) if oldest is not None else None)

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

    async def add(self, key: str, kind: str, payload: Mapping[str, Any], *, next_attempt_at: datetime) -> int | None:
        """Store a new pending item; its id, or None if an item with this key is stored already."""
        async with self._engine.begin() as connection:
            return await self._insert(connection, key, kind, payload, next_attempt_at)

    async def _insert(
        self, connection: AsyncConnection, key: str, kind: str, payload: Mapping[str, Any], next_attempt_at: datetime
    ) -> int | None:
        # ON CONFLICT DO NOTHING: a concurrent insert of the same key waits for the other transaction,
        # then stores nothing if it committed and the item if it rolled back; no error either way.
        values = self._new_row(kind, payload, next_attempt_at) | {"dedup_key": stored_key(key)}
        statement = _upsert(connection, wecom_inbox).values(**values)
        inserted = await connection.execute(
            statement.on_conflict_do_nothing(index_elements=[wecom_inbox.c.dedup_key]).returning(wecom_inbox.c.id)
        )
        item_id = inserted.scalar_one_or_none()
        return int(item_id) if item_id is not None else None

    async def add_pulled(
        self,
        kind: str,
        items: Sequence[Keyed],
        *,
        next_attempt_at: datetime,
        cursor: CursorUpdate | None,
    ) -> list[int | None]:
        """Store a pulled page's new items and the sync cursor after it in one transaction; per item its id or None."""
        async with self._engine.begin() as connection:
            ids = [await self._insert(connection, key, kind, payload, next_attempt_at) for key, payload in items]
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

    async def expire(self, handled_before: datetime, failed_before: datetime) -> int:
        """Delete handled items that arrived before handled_before and given-up ones before failed_before."""
        table = wecom_inbox
        statement = delete(table).where(
            or_(
                and_(table.c.status == DONE, table.c.created_at < require_aware(handled_before)),
                and_(table.c.status == FAILED, table.c.created_at < require_aware(failed_before)),
            )
        )
        async with self._engine.begin() as connection:
            return int((await connection.execute(statement)).rowcount)
