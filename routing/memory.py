"""In-process adapters of every routing port: the embedded default (one process, asyncio-safe).

Each operation runs without awaiting in the middle, so it is atomic with respect to other tasks.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from routing.events import RoutingEvent, from_wire, to_wire
from routing.models import Presence, QueueName
from routing.ports import Clock, Lease, QueueEntry

LEASED = "lease"
"""What `location` answers for a ticket under a claim lease."""


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """The current instant."""
        return datetime.now(UTC)


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai

    def now(self) -> datetime:
        """The current (frozen) instant."""
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move forward and return the new instant."""
        self._now += timedelta(seconds=seconds)
        return self._now

    def set(self, at: datetime) -> None:
        """Jump to an instant."""
        self._now = at


def service_order(entry: QueueEntry) -> tuple[int, datetime, str]:
    """Sort key of a queue: higher priority first, then earlier enqueue, then ticket id."""
    return (-entry.priority, entry.enqueued_at, entry.ticket_id)


class MemoryQueueStore:
    """Priority queues with claim leases: a sorted list per queue plus an index by ticket."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._waiting: dict[QueueName, dict[str, QueueEntry]] = {queue: {} for queue in QueueName}
        self._order: dict[QueueName, list[tuple[int, datetime, str]]] = {queue: [] for queue in QueueName}
        self._leases: dict[str, Lease] = {}

    def _put(self, entry: QueueEntry) -> None:
        self._waiting[entry.queue][entry.ticket_id] = entry
        bisect.insort(self._order[entry.queue], service_order(entry))

    def _take(self, entry: QueueEntry) -> None:
        del self._waiting[entry.queue][entry.ticket_id]
        order = self._order[entry.queue]
        del order[bisect.bisect_left(order, service_order(entry))]

    def _drop(self, ticket_id: str) -> bool:
        found = self._leases.pop(ticket_id, None) is not None
        for waiting in self._waiting.values():
            entry = waiting.get(ticket_id)
            if entry is not None:
                self._take(entry)
                found = True
        return found

    def _ordered(self, queue: QueueName, limit: int | None = None) -> list[QueueEntry]:
        keys = self._order[queue] if limit is None else self._order[queue][: max(limit, 0)]
        return [self._waiting[queue][ticket_id] for _p, _e, ticket_id in keys]

    def _lease(self, entry: QueueEntry, claimer: str, lease_seconds: float) -> Lease:
        self._take(entry)
        lease = Lease(entry, claimer, self._clock.now() + timedelta(seconds=lease_seconds))
        self._leases[entry.ticket_id] = lease
        return lease

    async def enqueue(self, entry: QueueEntry) -> None:
        """Put (or move) the ticket in its queue."""
        self._drop(entry.ticket_id)
        self._put(entry)

    async def position(self, queue: QueueName, ticket_id: str) -> int | None:
        """1-based place, or None."""
        entry = self._waiting[queue].get(ticket_id)
        if entry is None:
            return None
        return bisect.bisect_left(self._order[queue], service_order(entry)) + 1

    async def peek(self, queue: QueueName) -> QueueEntry | None:
        """The head, unclaimed."""
        ordered = self._ordered(queue, 1)
        return ordered[0] if ordered else None

    async def entries(self, queue: QueueName, limit: int = 100) -> list[QueueEntry]:
        """The first `limit` entries in service order."""
        return self._ordered(queue, limit)

    async def length(self, queue: QueueName) -> int:
        """Waiting tickets in the queue."""
        return len(self._waiting[queue])

    async def claim_head(self, queue: QueueName, claimer: str, lease_seconds: float) -> Lease | None:
        """Lease the head, or None if empty."""
        head = self._ordered(queue, 1)
        return self._lease(head[0], claimer, lease_seconds) if head else None

    async def claim_ticket(self, queue: QueueName, ticket_id: str, claimer: str, lease_seconds: float) -> Lease | None:
        """Lease one ticket, or None if it is not waiting in the queue."""
        entry = self._waiting[queue].get(ticket_id)
        return None if entry is None else self._lease(entry, claimer, lease_seconds)

    async def ack(self, ticket_id: str, claimer: str) -> bool:
        """Finish the claimer's lease."""
        lease = self._leases.get(ticket_id)
        if lease is None or lease.claimer != claimer:
            return False
        del self._leases[ticket_id]
        return True

    async def requeue(self, ticket_id: str, claimer: str) -> bool:
        """Give the claimer's lease back to the queue."""
        lease = self._leases.get(ticket_id)
        if lease is None or lease.claimer != claimer:
            return False
        del self._leases[ticket_id]
        self._put(lease.entry)
        return True

    async def remove(self, ticket_id: str) -> bool:
        """Drop the ticket wherever it is."""
        return self._drop(ticket_id)

    async def reclaim_expired(self) -> list[QueueEntry]:
        """Return expired leases to their queues."""
        now = self._clock.now()
        expired = [lease for lease in self._leases.values() if lease.expires_at <= now]
        for lease in expired:
            del self._leases[lease.entry.ticket_id]
            self._put(lease.entry)
        return sorted((lease.entry for lease in expired), key=service_order)

    async def leases(self) -> list[Lease]:
        """Every lease not yet acked, requeued or reclaimed."""
        return sorted(self._leases.values(), key=lambda lease: lease.entry.ticket_id)

    async def location(self, ticket_id: str) -> QueueName | str | None:
        """The ticket's queue, LEASED, or None."""
        if ticket_id in self._leases:
            return LEASED
        for queue, waiting in self._waiting.items():
            if ticket_id in waiting:
                return queue
        return None


class MemoryPresenceStore:
    """Presence with expiry and load counters, kept in dictionaries."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._presence: dict[str, tuple[Presence, frozenset[QueueName], datetime]] = {}
        self._loads: dict[str, int] = {}
        self._counters: dict[str, int] = {}

    def _current(self, staff_id: str) -> Presence:
        stored = self._presence.get(staff_id)
        if stored is None or stored[2] <= self._clock.now():
            return Presence.OFFLINE
        return stored[0]

    async def set_presence(
        self, staff_id: str, skills: Collection[QueueName], presence: Presence, ttl_seconds: float
    ) -> None:
        """Record presence with an expiry."""
        expires = self._clock.now() + timedelta(seconds=ttl_seconds)
        self._presence[staff_id] = (presence, frozenset(skills), expires)

    async def heartbeat(self, staff_id: str, ttl_seconds: float) -> bool:
        """Extend an unexpired online/away presence."""
        presence = self._current(staff_id)
        if presence == Presence.OFFLINE:
            return False
        _old, skills, _expires = self._presence[staff_id]
        self._presence[staff_id] = (presence, skills, self._clock.now() + timedelta(seconds=ttl_seconds))
        return True

    async def presence(self, staff_id: str) -> Presence:
        """Current presence."""
        return self._current(staff_id)

    async def online_staff(self, skill: QueueName) -> list[str]:
        """Unexpired ONLINE staff with the skill."""
        return sorted(
            staff_id
            for staff_id, (_presence, skills, _expires) in self._presence.items()
            if skill in skills and self._current(staff_id) == Presence.ONLINE
        )

    async def reserve(self, staff_id: str, capacity: int) -> bool:
        """Take a slot if one is free."""
        current = self._loads.get(staff_id, 0)
        if current >= capacity:
            return False
        self._loads[staff_id] = current + 1
        return True

    async def release(self, staff_id: str) -> None:
        """Free a slot."""
        self._loads[staff_id] = max(self._loads.get(staff_id, 0) - 1, 0)

    async def load(self, staff_id: str) -> int:
        """Active conversations."""
        return self._loads.get(staff_id, 0)

    async def loads(self, staff_ids: Collection[str]) -> dict[str, int]:
        """Active conversations of several staff."""
        return {staff_id: self._loads.get(staff_id, 0) for staff_id in staff_ids}

    async def set_load(self, staff_id: str, count: int) -> None:
        """Overwrite a counter."""
        self._loads[staff_id] = max(count, 0)

    async def correct_load(self, staff_id: str, expected: int, count: int) -> bool:
        """Set the counter only if it still reads `expected`."""
        if self._loads.get(staff_id, 0) != expected:
            return False
        self._loads[staff_id] = max(count, 0)
        return True

    async def next_round_robin(self, key: str) -> int:
        """A growing counter."""
        value = self._counters.get(key, 0)
        self._counters[key] = value + 1
        return value


class MemorySubscription:
    """One subscriber's inbox."""

    def __init__(self, bus: MemoryEventBus) -> None:
        self._bus = bus
        self.inbox: asyncio.Queue[RoutingEvent] = asyncio.Queue()

    def __aiter__(self) -> AsyncIterator[RoutingEvent]:
        """Iterate events forever (until cancelled)."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[RoutingEvent]:
        while True:
            yield await self.inbox.get()

    async def next_event(self, within_seconds: float | None = None) -> RoutingEvent | None:
        """The next event or None after the wait."""
        try:
            async with asyncio.timeout(within_seconds):
                return await self.inbox.get()
        except TimeoutError:
            return None

    async def close(self) -> None:
        """Stop receiving."""
        self._bus.unsubscribe(self)


class MemoryEventBus:
    """Fan-out to in-process subscribers; events are JSON round-tripped like on Redis."""

    def __init__(self) -> None:
        self._subscribers: list[MemorySubscription] = []

    async def publish(self, event: RoutingEvent) -> None:
        """Deliver a copy (decoded from its JSON, as another process would see it) to every subscriber."""
        encoded = json.dumps(to_wire(event), ensure_ascii=False)
        for subscriber in list(self._subscribers):
            copy = from_wire(json.loads(encoded))
            if copy is not None:
                subscriber.inbox.put_nowait(copy)

    async def subscribe(self) -> MemorySubscription:
        """A new subscription."""
        subscription = MemorySubscription(self)
        self._subscribers.append(subscription)
        return subscription

    def unsubscribe(self, subscription: MemorySubscription) -> None:
        """Forget a subscription."""
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)


class MemoryIdempotencyStore:
    """Claimed keys with expiry."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._keys: dict[str, datetime] = {}

    async def claim(self, key: str, ttl_seconds: int) -> bool:
        """True the first time within the TTL."""
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        now = self._clock.now()
        expires = self._keys.get(key)
        if expires is not None and expires > now:
            return False
        self._keys[key] = now + timedelta(seconds=ttl_seconds)
        if len(self._keys) > 10_000:
            self._keys = {k: v for k, v in self._keys.items() if v > now}
        return True

    async def release(self, key: str) -> None:
        """Forget the claim, if any."""
        self._keys.pop(key, None)


@dataclass(frozen=True)
class MemoryPorts:
    """Every port's in-process adapter, sharing one clock."""

    queues: MemoryQueueStore
    presence: MemoryPresenceStore
    events: MemoryEventBus
    idempotency: MemoryIdempotencyStore


def memory_ports(clock: Clock) -> MemoryPorts:
    """The embedded default: one process, no Redis."""
    return MemoryPorts(
        MemoryQueueStore(clock), MemoryPresenceStore(clock), MemoryEventBus(), MemoryIdempotencyStore(clock)
    )
