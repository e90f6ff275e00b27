"""Outbox of WeCom messages that could not be sent yet: nothing outbound is dropped silently.

The SQL implementation is handoff_api.wecom.store.SqlOutbox; MemoryOutbox serves tests and
single-process development.

`due()` leases the messages it returns (their next attempt moves lease_seconds ahead), so two
drainers in two workers never send the same message at the same time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from routing.memory import SystemClock
from routing.ports import Clock

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


@dataclass(frozen=True, slots=True)
class Backlog:
    """A retry queue (the outbox or the inbox) at a glance, for the operators' metrics."""

    pending: int
    """Rows waiting for their first or next attempt."""
    failed: int
    """Rows given up after their last attempt, kept for review."""
    oldest_pending_at: datetime | None
    """When the oldest pending row was stored (None: nothing pending)."""


def backlog_of(rows: Iterable[tuple[str, datetime]], pending: str, failed: str) -> Backlog:
    """The backlog of in-memory rows given as (status value, created_at)."""
    listed = list(rows)
    waiting = [created_at for status, created_at in listed if status == pending]
    given_up = sum(1 for status, _ in listed if status == failed)
    return Backlog(len(waiting), given_up, min(waiting, default=None))


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

    async def backlog(self) -> Backlog:
        """Pending and given-up messages, and when the oldest pending one was stored."""
        ...


def require_aware(value: datetime) -> datetime:
    """The instant in UTC; naive datetimes are refused."""
    if value.tzinfo is None:
        raise ValueError("outbox timestamps must be timezone-aware")
    return value.astimezone(UTC)


class MemoryOutbox:
    """Outbox in process memory (tests and single-process development)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
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
                next_attempt_at=require_aware(next_attempt_at),
                created_at=self._clock.now(),
                sent_at=None,
            )
            return message_id

    async def due(
        self, now: datetime, limit: int = 50, lease_seconds: float = DEFAULT_LEASE_SECONDS
    ) -> list[OutboxMessage]:
        now = require_aware(now)
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
                sent_at=require_aware(sent_at),
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
                next_attempt_at=require_aware(next_attempt_at) if next_attempt_at else message.next_attempt_at,
            )

    async def get(self, message_id: int) -> OutboxMessage | None:
        return self._messages.get(message_id)

    async def backlog(self) -> Backlog:
        rows = [(message.status.value, message.created_at) for message in self._messages.values()]
        return backlog_of(rows, OutboxStatus.PENDING.value, OutboxStatus.FAILED.value)
