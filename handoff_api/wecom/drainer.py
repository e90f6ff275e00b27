"""Retries outbox messages that are due, with exponential backoff, until sent or given up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from handoff_api.periodic import run_every
from handoff_api.wecom.client import WeComSendError
from handoff_api.wecom.outbox import DEFAULT_LEASE_SECONDS, Outbox
from routing.memory import SystemClock
from routing.ports import Clock

logger = logging.getLogger(__name__)


class OutboxDeliverer(Protocol):
    """What the drainer needs from the client: one delivery attempt of a stored request body."""

    async def deliver(self, kind: str, payload: Mapping[str, Any], *, max_attempts: int | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class DrainReport:
    """What one drain pass did."""

    sent: int = 0
    retrying: int = 0
    given_up: int = 0


def backoff_delay(attempts: int, base_seconds: float, cap_seconds: float) -> timedelta:
    """Exponential backoff before the next try after `attempts` failed tries."""
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(attempts - 1, 0)))


class OutboxDrainer:
    """Sends due outbox messages in id order; stops a pass at the first transient failure."""

    def __init__(
        self,
        outbox: Outbox,
        deliverer: OutboxDeliverer,
        *,
        clock: Clock | None = None,
        batch_size: int = 50,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        interval_seconds: float = 5.0,
        max_attempts: int = 12,
        backoff_base_seconds: float = 30.0,
        backoff_cap_seconds: float = 3600.0,
    ) -> None:
        self._outbox = outbox
        self._deliverer = deliverer
        self._clock = clock or SystemClock()
        self._batch_size = batch_size
        self._lease_seconds = lease_seconds
        self._interval = interval_seconds
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base_seconds
        self._backoff_cap = backoff_cap_seconds

    def next_delay(self, attempts: int) -> timedelta:
        """Backoff before the next try after `attempts` failed tries."""
        return backoff_delay(attempts, self._backoff_base, self._backoff_cap)

    async def drain_once(self) -> DrainReport:
        """One pass over the due messages."""
        sent = retrying = given_up = 0
        for message in await self._outbox.due(self._clock.now(), self._batch_size, self._lease_seconds):
            try:
                await self._deliverer.deliver(message.kind, message.payload, max_attempts=1)
            except WeComSendError as exc:
                attempts = message.attempts + 1
                if not exc.retryable or attempts >= self._max_attempts:
                    await self._outbox.mark_failed(message.id, exc.reason, None)
                    given_up += 1
                    logger.error("wecom outbox #%d given up after %d tries: %s", message.id, attempts, exc.reason)
                    continue
                await self._outbox.mark_failed(message.id, exc.reason, self._clock.now() + self.next_delay(attempts))
                retrying += 1
                logger.warning("wecom outbox #%d still failing (%s)", message.id, exc.reason)
                break  # the rest of the leased batch comes back when the lease ends, keeping order
            await self._outbox.mark_sent(message.id, self._clock.now())
            sent += 1
        return DrainReport(sent=sent, retrying=retrying, given_up=given_up)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain every interval until stop is set; errors are logged, never fatal."""
        await run_every(self._interval, stop, self.drain_once, "wecom outbox drain pass")
