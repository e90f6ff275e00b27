"""Ports: the fast shared state routing needs besides the record (queues, presence, events...).

Each port has an in-process adapter (routing.memory) and a Redis adapter (routing.redis_*); both
pass the same contract tests. Times come from the `Clock` the adapter was built with, so tests can
drive expiry of leases and presence without sleeping.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from routing.events import RoutingEvent
from routing.models import Presence, QueueName


class Clock(Protocol):
    """The source of the current time (timezone-aware UTC)."""

    def now(self) -> datetime:
        """The current instant, timezone-aware."""
        ...


class QuestionClassifier(Protocol):
    """Decides which tier-2 queue a free-text question belongs to (supplied by the composition root)."""

    def classify(self, text: str) -> QueueName:
        """ADVISOR for investment questions, SERVICE for business questions."""
        ...


@dataclass(frozen=True)
class QueueEntry:
    """A ticket waiting in a tier-2 queue; higher `priority` first, then earlier `enqueued_at`."""

    ticket_id: str
    conversation_id: str
    queue: QueueName
    priority: int
    enqueued_at: datetime


@dataclass(frozen=True)
class Lease:
    """A claimed queue entry: the claimer must ack (done) or requeue it before `expires_at`."""

    entry: QueueEntry
    claimer: str
    expires_at: datetime


class QueueStore(Protocol):
    """Priority queues of tickets with leased, double-assignment-proof claims.

    A ticket is in exactly one place: one queue, or one lease, or gone (acked/removed). A lease that
    is not acked before it expires is put back in its queue by `reclaim_expired`, so a worker that dies
    mid-assignment loses nothing.
    """

    async def enqueue(self, entry: QueueEntry) -> None:
        """Put (or move) the ticket in its queue; drops any previous place, queue or lease."""
        ...

    async def position(self, queue: QueueName, ticket_id: str) -> int | None:
        """1-based place in the queue, or None if the ticket is not waiting there."""
        ...

    async def peek(self, queue: QueueName) -> QueueEntry | None:
        """The head of the queue without claiming it."""
        ...

    async def entries(self, queue: QueueName, limit: int = 100) -> list[QueueEntry]:
        """The first `limit` entries in service order."""
        ...

    async def length(self, queue: QueueName) -> int:
        """How many tickets wait in the queue (leased ones excluded)."""
        ...

    async def claim_head(self, queue: QueueName, claimer: str, lease_seconds: float) -> Lease | None:
        """Atomically take the head under a lease; None if the queue is empty."""
        ...

    async def claim_ticket(self, queue: QueueName, ticket_id: str, claimer: str, lease_seconds: float) -> Lease | None:
        """Atomically take one ticket under a lease; None if it is not waiting in the queue."""
        ...

    async def ack(self, ticket_id: str, claimer: str) -> bool:
        """Finish a lease (the ticket leaves the store); False if the lease is not the claimer's."""
        ...

    async def requeue(self, ticket_id: str, claimer: str) -> bool:
        """Give a lease back: the ticket returns to its original place; False if not the claimer's."""
        ...

    async def remove(self, ticket_id: str) -> bool:
        """Drop the ticket wherever it is (queue or lease); False if it was nowhere."""
        ...

    async def reclaim_expired(self) -> list[QueueEntry]:
        """Return every expired lease's entry to its queue and list them."""
        ...

    async def leases(self) -> list[Lease]:
        """Every live or expired-but-unreclaimed lease."""
        ...

    async def location(self, ticket_id: str) -> QueueName | str | None:
        """Where the ticket is: its QueueName if waiting, "lease" if claimed, None if absent."""
        ...


class PresenceStore(Protocol):
    """Staff presence with expiry, and per-staff active-conversation counters."""

    async def set_presence(
        self, staff_id: str, skills: Collection[QueueName], presence: Presence, ttl_seconds: float
    ) -> None:
        """Record presence; ONLINE and AWAY expire to OFFLINE after `ttl_seconds` without heartbeat."""
        ...

    async def heartbeat(self, staff_id: str, ttl_seconds: float) -> bool:
        """Extend an unexpired ONLINE/AWAY presence; False if the staff member is offline or expired."""
        ...

    async def presence(self, staff_id: str) -> Presence:
        """Current presence (OFFLINE when unknown or expired)."""
        ...

    async def online_staff(self, skill: QueueName) -> list[str]:
        """Ids of unexpired ONLINE staff with this skill, sorted."""
        ...

    async def reserve(self, staff_id: str, capacity: int) -> bool:
        """Atomically add one active conversation if the count is below `capacity`."""
        ...

    async def release(self, staff_id: str) -> None:
        """Remove one active conversation (never below zero)."""
        ...

    async def load(self, staff_id: str) -> int:
        """The staff member's active conversation count."""
        ...

    async def loads(self, staff_ids: Collection[str]) -> dict[str, int]:
        """Active conversation counts of several staff members."""
        ...

    async def set_load(self, staff_id: str, count: int) -> None:
        """Overwrite a counter (used when rebuilding from the record)."""
        ...

    async def correct_load(self, staff_id: str, expected: int, count: int) -> bool:
        """Set the counter to `count` only if it still reads `expected` (a repair that loses to live work)."""
        ...

    async def next_round_robin(self, key: str) -> int:
        """A shared, ever-growing counter used to break ties fairly across workers."""
        ...


class Subscription(Protocol):
    """A live feed of events published after the subscription started."""

    def __aiter__(self) -> AsyncIterator[RoutingEvent]:
        """Iterate events as they come."""
        ...

    async def next_event(self, within_seconds: float | None = None) -> RoutingEvent | None:
        """The next event, or None if none arrives within `within_seconds`."""
        ...

    async def close(self) -> None:
        """Stop receiving."""
        ...


class EventBus(Protocol):
    """Publish/subscribe of events; with Redis, events fan out across processes."""

    async def publish(self, event: RoutingEvent) -> None:
        """Deliver to every current subscriber (as JSON between processes: routing.events.to_wire)."""
        ...

    async def subscribe(self) -> Subscription:
        """Start receiving every event published from now on."""
        ...


class IdempotencyStore(Protocol):
    """Remembers keys for a while so duplicate deliveries are handled once."""

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True the first time a key is claimed within `ttl_seconds`, False afterwards."""
        ...

    async def release(self, key: str) -> None:
        """Forget a claim whose work could not be taken on, so a redelivery is handled."""
        ...
