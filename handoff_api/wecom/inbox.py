"""Inbox of accepted WeCom callbacks: what was acknowledged is handled, retried if it failed, never lost.

The callback stores each new message (its decrypted XML, or one message pulled with kf/sync_msg)
before it answers WeCom, then handles it at once in the background and marks it handled. An attempt
that raises, or a worker that dies half-way, leaves the item pending; `InboxWorker.run` retries it
with backoff until it is handled or, after `max_attempts`, kept as failed for review.
The store is an Outbox over the wecom_inbox table (status sent = handled).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from handoff_api.periodic import run_every
from handoff_api.wecom.drainer import backoff_delay
from handoff_api.wecom.outbox import Outbox

logger = logging.getLogger(__name__)

ItemHandler = Callable[[str, Mapping[str, Any]], Awaitable[None]]


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


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


class InboxWorker:
    """Stores inbound items, attempts them, and retries the ones left pending."""

    def __init__(
        self,
        inbox: Outbox,
        handle: ItemHandler,
        policy: InboxRetryPolicy | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._inbox = inbox
        self._handle = handle
        self._policy = policy or InboxRetryPolicy()
        self._clock = clock

    async def accept(self, kind: str, payload: Mapping[str, Any]) -> int:
        """Store a new item, leased to the caller for its first attempt."""
        first_lease_ends = self._clock() + timedelta(seconds=self._policy.lease_seconds)
        return await self._inbox.add(kind, payload, next_attempt_at=first_lease_ends)

    async def attempt(self, item_id: int, kind: str, payload: Mapping[str, Any], failed_before: int = 0) -> bool:
        """Handle one item; True if handled, False if it failed (and was rescheduled or given up)."""
        try:
            await self._handle(kind, payload)
        except Exception as exc:
            await self._record_failure(item_id, failed_before + 1, exc)
            return False
        await self._inbox.mark_sent(item_id, self._clock())
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
        await self._inbox.mark_failed(item_id, _reason(exc), self._clock() + delay)

    async def retry_once(self) -> int:
        """One pass over the items that are due; the number handled."""
        due = await self._inbox.due(self._clock(), self._policy.batch_size, self._policy.lease_seconds)
        handled = 0
        for item in due:
            handled += await self.attempt(item.id, item.kind, item.payload, item.attempts)
        return handled

    async def run(self, stop: asyncio.Event) -> None:
        """Retry due items every interval until stop is set; errors are logged, never fatal."""
        await run_every(self._policy.interval_seconds, stop, self.retry_once, "wecom inbox retry pass")
