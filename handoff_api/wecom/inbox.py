"""Inbox of accepted WeCom callbacks: what was acknowledged is handled, retried if it failed, never lost.

The callback stores each new message (its decrypted XML, or one message pulled with kf/sync_msg)
before it answers WeCom, then handles it at once in the background and marks it handled. An attempt
that raises, or a worker that dies half-way, leaves the item pending; `InboxWorker.run` retries it
with backoff until it is handled or, after `max_attempts`, kept as failed for review. Because items
hold decrypted client messages, `InboxWorker.run_expiry` deletes handled items after the retention
(WECOM_INBOX_RETENTION_DAYS, 30 by default) and given-up ones after a longer one.
Every item has a de-duplication key (the MsgId, or the fallback key for messages without one),
unique in the store: a redelivery of a stored message is recognised there as a duplicate, and a
delivery whose storing failed leaves nothing behind, so its redelivery is taken. Messages pulled
with kf/sync_msg are stored a page at a time together with the sync cursor after that page, in one
transaction: the cursor never moves past a message that was not stored.
The SQL store is handoff_api.wecom.store.SqlInbox (table wecom_inbox); MemoryInbox serves tests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from handoff_api.periodic import run_every
from handoff_api.wecom.drainer import backoff_delay
from handoff_api.wecom.outbox import Backlog, backlog_of, require_aware
from routing.memory import SystemClock
from routing.ports import Clock

logger = logging.getLogger(__name__)

ItemHandler = Callable[[str, Mapping[str, Any]], Awaitable[None]]
Keyed = tuple[str, Mapping[str, Any]]
"""A de-duplication key and the payload stored under it."""


class InboxStatus(StrEnum):
    """Where an inbound item stands; HANDLED is stored as 'sent', the value the table has always used."""

    PENDING = "pending"
    HANDLED = "sent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One accepted inbound item: a callback's decrypted XML, or one pulled 微信客服 message."""

    id: int
    kind: str
    payload: Mapping[str, Any]
    status: InboxStatus
    attempts: int
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    handled_at: datetime | None


@dataclass(frozen=True, slots=True)
class CursorUpdate:
    """The sync cursor to store with a pulled page: the state key, its new value and when it expires."""

    key: str
    value: str
    expires_at: datetime


class Inbox(Protocol):
    """Durable store of accepted inbound items until they are handled, at most one per de-duplication key."""

    async def add(self, key: str, kind: str, payload: Mapping[str, Any], *, next_attempt_at: datetime) -> int | None:
        """Store a new pending item, first due at next_attempt_at; its id, or None if the key is stored already."""
        ...

    async def add_pulled(
        self,
        kind: str,
        items: Sequence[Keyed],
        *,
        next_attempt_at: datetime,
        cursor: CursorUpdate | None,
    ) -> list[int | None]:
        """Store a pulled page's new items and the cursor after it, all or nothing; per item its id or None."""
        ...

    async def cursor(self, key: str) -> str | None:
        """The stored sync cursor, unless missing or expired."""
        ...

    async def due(self, now: datetime, limit: int, lease_seconds: float) -> list[InboxItem]:
        """Pending items due by now, in id order, each leased for lease_seconds."""
        ...

    async def mark_handled(self, item_id: int, at: datetime) -> None: ...

    async def mark_failed(self, item_id: int, error: str, next_attempt_at: datetime | None) -> None:
        """Count a failed attempt; next_attempt_at=None gives up (status failed, kept for review)."""
        ...

    async def get(self, item_id: int) -> InboxItem | None: ...

    async def backlog(self) -> Backlog:
        """Pending and given-up items, and when the oldest pending one arrived."""
        ...

    async def expire(self, handled_before: datetime, failed_before: datetime) -> int:
        """Delete handled items that arrived before handled_before and given-up ones before failed_before.

        Pending items are never deleted. Returns how many were deleted.
        """
        ...


class MemoryInbox:
    """Inbox in process memory (tests and single-process development)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._items: dict[int, InboxItem] = {}
        self._cursors: dict[str, tuple[str, datetime]] = {}
        self._keys: dict[str, int] = {}
        self._next_id = 1
        self._lock = asyncio.Lock()

    def _insert(self, key: str, kind: str, payload: Mapping[str, Any], next_attempt_at: datetime) -> int | None:
        if key in self._keys:
            return None
        item_id = self._next_id
        self._keys[key] = item_id
        self._next_id += 1
        self._items[item_id] = InboxItem(
            id=item_id,
            kind=kind,
            payload=dict(payload),
            status=InboxStatus.PENDING,
            attempts=0,
            last_error=None,
            next_attempt_at=require_aware(next_attempt_at),
            created_at=self._clock.now(),
            handled_at=None,
        )
        return item_id

    async def add(self, key: str, kind: str, payload: Mapping[str, Any], *, next_attempt_at: datetime) -> int | None:
        async with self._lock:
            return self._insert(key, kind, payload, require_aware(next_attempt_at))

    async def add_pulled(
        self,
        kind: str,
        items: Sequence[Keyed],
        *,
        next_attempt_at: datetime,
        cursor: CursorUpdate | None,
    ) -> list[int | None]:
        require_aware(next_attempt_at)
        async with self._lock:
            ids = [self._insert(key, kind, payload, next_attempt_at) for key, payload in items]
            if cursor is not None:
                self._cursors[cursor.key] = (cursor.value, require_aware(cursor.expires_at))
            return ids

    async def cursor(self, key: str) -> str | None:
        value, expires_at = self._cursors.get(key, ("", self._clock.now()))
        return value if expires_at > self._clock.now() else None

    async def due(self, now: datetime, limit: int, lease_seconds: float) -> list[InboxItem]:
        now = require_aware(now)
        lease_until = now + timedelta(seconds=lease_seconds)
        async with self._lock:
            ready = [
                item
                for item in sorted(self._items.values(), key=lambda i: i.id)
                if item.status is InboxStatus.PENDING and item.next_attempt_at <= now
            ][:limit]
            for item in ready:
                self._items[item.id] = replace(item, next_attempt_at=lease_until)
            return [self._items[item.id] for item in ready]

    async def mark_handled(self, item_id: int, at: datetime) -> None:
        async with self._lock:
            item = self._items[item_id]
            self._items[item_id] = replace(
                item, status=InboxStatus.HANDLED, handled_at=require_aware(at), attempts=item.attempts + 1
            )

    async def mark_failed(self, item_id: int, error: str, next_attempt_at: datetime | None) -> None:
        async with self._lock:
            item = self._items[item_id]
            self._items[item_id] = replace(
                item,
                status=InboxStatus.PENDING if next_attempt_at else InboxStatus.FAILED,
                attempts=item.attempts + 1,
                last_error=error,
                next_attempt_at=require_aware(next_attempt_at) if next_attempt_at else item.next_attempt_at,
            )

    async def get(self, item_id: int) -> InboxItem | None:
        return self._items.get(item_id)

    async def backlog(self) -> Backlog:
        rows = [(item.status.value, item.created_at) for item in self._items.values()]
        return backlog_of(rows, InboxStatus.PENDING.value, InboxStatus.FAILED.value)

    async def expire(self, handled_before: datetime, failed_before: datetime) -> int:
        cutoff = {InboxStatus.HANDLED: require_aware(handled_before), InboxStatus.FAILED: require_aware(failed_before)}
        async with self._lock:
            expired = [
                item.id
                for item in self._items.values()
                if item.status in cutoff and item.created_at < cutoff[item.status]
            ]
            for item_id in expired:
                del self._items[item_id]
            self._keys = {key: item_id for key, item_id in self._keys.items() if item_id in self._items}
            return len(expired)


@dataclass(frozen=True, slots=True)
class InboxRetryPolicy:
    """How inbound items are retried."""

    max_attempts: int = 8
    backoff_base_seconds: float = 10.0
    backoff_cap_seconds: float = 900.0
    lease_seconds: float = 120.0
    """How long an attempt may run before another worker takes the item over."""
    interval_seconds: float = 5.0
    batch_size: int = 50


@dataclass(frozen=True, slots=True)
class InboxRetention:
    """How long inbox items are kept: they hold decrypted client messages."""

    handled_days: float = 30.0
    failed_days: float = 90.0
    interval_seconds: float = 3600.0
    """How often the expiry pass runs."""


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class InboxWorker:
    """Stores inbound items, attempts them, and retries the ones left pending."""

    def __init__(
        self,
        inbox: Inbox,
        handle: ItemHandler,
        policy: InboxRetryPolicy | None = None,
        *,
        retention: InboxRetention | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._inbox = inbox
        self._handle = handle
        self._policy = policy or InboxRetryPolicy()
        self._retention = retention or InboxRetention()
        self._clock = clock or SystemClock()

    def _first_lease_ends(self) -> datetime:
        return self._clock.now() + timedelta(seconds=self._policy.lease_seconds)

    async def accept(self, kind: str, payload: Mapping[str, Any], *, key: str) -> int | None:
        """Store a new item, leased to the caller for its first attempt; None if its key was stored before."""
        return await self._inbox.add(key, kind, payload, next_attempt_at=self._first_lease_ends())

    async def accept_pulled(self, kind: str, items: Sequence[Keyed], cursor: CursorUpdate | None) -> list[int | None]:
        """Store a pulled page with the cursor after it (one transaction), leased to the caller; None for duplicates."""
        return await self._inbox.add_pulled(kind, items, next_attempt_at=self._first_lease_ends(), cursor=cursor)

    async def attempt(self, item_id: int, kind: str, payload: Mapping[str, Any], failed_before: int = 0) -> bool:
        """Handle one item; True if handled, False if it failed (and was rescheduled or given up)."""
        try:
            await self._handle(kind, payload)
        except Exception as exc:
            await self._record_failure(item_id, failed_before + 1, exc)
            return False
        await self._inbox.mark_handled(item_id, self._clock.now())
        return True

    async def _record_failure(self, item_id: int, attempts: int, exc: Exception) -> None:
        if attempts >= self._policy.max_attempts:
            logger.error("wecom inbox #%d given up after %d attempts", item_id, attempts, exc_info=exc)
            await self._inbox.mark_failed(item_id, _reason(exc), None)
            return
        delay = backoff_delay(attempts, self._policy.backoff_base_seconds, self._policy.backoff_cap_seconds)
        logger.warning(
            "wecom inbox #%d failed (attempt %d), retrying in %.0fs",
            item_id,
            attempts,
            delay.total_seconds(),
            exc_info=exc,
        )
        await self._inbox.mark_failed(item_id, _reason(exc), self._clock.now() + delay)

    async def retry_once(self) -> int:
        """One pass over the items that are due; the number handled."""
        due = await self._inbox.due(self._clock.now(), self._policy.batch_size, self._policy.lease_seconds)
        handled = 0
        for item in due:
            handled += await self.attempt(item.id, item.kind, item.payload, item.attempts)
        return handled

    async def run(self, stop: asyncio.Event) -> None:
        """Retry due items every interval until stop is set; errors are logged, never fatal."""
        await run_every(self._policy.interval_seconds, stop, self.retry_once, "wecom inbox retry pass")

    async def expire_once(self) -> int:
        """Delete the handled and given-up items older than the retention; the number deleted."""
        now = self._clock.now()
        deleted = await self._inbox.expire(
            handled_before=now - timedelta(days=self._retention.handled_days),
            failed_before=now - timedelta(days=self._retention.failed_days),
        )
        if deleted:
            logger.info("wecom inbox: %d items past their retention deleted", deleted)
        return deleted

    async def run_expiry(self, stop: asyncio.Event) -> None:
        """Run the expiry pass every retention interval until stop is set; errors are logged, never fatal."""
        await run_every(self._retention.interval_seconds, stop, self.expire_once, "wecom inbox expiry pass")
