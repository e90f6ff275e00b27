"""Real-time fan-out: one EventBus subscription per process, dispatched to every local listener.

The hub is created at start-up and held by the container; the widget and console sockets each
register a `Listener` with a predicate (what it may see), and events arrive on the listener's queue
(the WeCom channel reads the bus through a subscription of its own). With Redis every worker
subscribes once, so an event published by any worker reaches every listener whichever worker holds
it. If the bus subscription breaks (e.g. Redis restarts) the hub resubscribes with backoff and sends
every listener `RESYNC`, so they re-read the record and lose nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from routing.events import RoutingEvent
from routing.ports import EventBus, Subscription

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Resync:
    """Events may have been missed: listeners re-read what they show from the record."""


@dataclass(frozen=True)
class Stop:
    """Put on a listener to end its reader after the event in hand (never mid-query)."""


RESYNC = Resync()
STOP = Stop()
HubEvent = RoutingEvent | Resync | Stop
"""What a listener receives."""

EventFilter = Callable[[RoutingEvent], bool]


def _everything(_: RoutingEvent) -> bool:
    return True


@dataclass(eq=False)
class Listener:
    """One connection's inbox of events that passed its filter."""

    accepts: EventFilter
    backlog: int
    queue: asyncio.Queue[HubEvent] = field(default_factory=asyncio.Queue)

    def offer(self, event: RoutingEvent | Resync) -> None:
        """Queue the event if accepted; a full inbox is replaced by one `RESYNC` (the reader catches up)."""
        try:
            wanted = isinstance(event, Resync) or self.accepts(event)
        except Exception:
            log.exception("event filter failed on %s", event.__class__.__name__)
            return
        if not wanted:
            return
        if self.queue.qsize() >= self.backlog:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)
            return
        self.queue.put_nowait(event)

    def stop(self) -> None:
        """End the reader: `next` returns STOP once the events already queued before it are read."""
        self.queue.put_nowait(STOP)

    def ready(self) -> list[HubEvent]:
        """Every event already queued, without waiting (a reader handles a burst at once)."""
        burst: list[HubEvent] = []
        while not self.queue.empty():
            burst.append(self.queue.get_nowait())
        return burst

    async def next(self, within_seconds: float | None = None) -> HubEvent | None:
        """The next event, or None if none arrives in time."""
        try:
            async with asyncio.timeout(within_seconds):
                return await self.queue.get()
        except TimeoutError:
            return None


class RealtimeHub:
    """Subscribes to the bus once and hands each event to every local listener that accepts it."""

    def __init__(self, events: EventBus, backlog: int = 500, retry_seconds: float = 0.5) -> None:
        self._events = events
        self._backlog = backlog
        self._retry_seconds = retry_seconds
        self._listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription | None = None
        self._lock = asyncio.Lock()

    @property
    def listener_count(self) -> int:
        """How many connections listen in this process."""
        return len(self._listeners)

    async def start(self) -> None:
        """Subscribe (returns once subscribed, so nothing published afterwards is missed)."""
        async with self._lock:
            if self._task is None:
                self._subscription = await self._events.subscribe()
                self._task = asyncio.create_task(self._run(), name="realtime-hub")

    async def stop(self) -> None:
        """Unsubscribe and stop dispatching."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close_subscription()

    def listen(self, accepts: EventFilter | None = None) -> Listener:
        """Register a listener; call `forget` when the connection ends."""
        listener = Listener(accepts or _everything, self._backlog)
        self._listeners.add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        """Stop delivering to this listener."""
        self._listeners.discard(listener)

    def dispatch(self, event: RoutingEvent | Resync) -> None:
        """Offer one event to every listener."""
        for listener in list(self._listeners):
            listener.offer(event)

    async def _close_subscription(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(Exception):
                await subscription.close()

    async def _run(self) -> None:
        delay = self._retry_seconds
        while True:
            try:
                if self._subscription is None:
                    self._subscription = await self._events.subscribe()
                    self.dispatch(RESYNC)
                async for event in self._subscription:
                    delay = self._retry_seconds
                    self.dispatch(event)
                await self._close_subscription()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event subscription failed (%s); resubscribing in %.1fs", exc, delay)
                await self._close_subscription()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


async def stop_reader(listener: Listener, reader: asyncio.Task[None], within_seconds: float = 5.0) -> None:
    """End a listener's reader gracefully: cancelling it mid-query would leave a database connection half-used."""
    listener.stop()
    with contextlib.suppress(asyncio.CancelledError, TimeoutError, Exception):
        await asyncio.wait_for(reader, within_seconds)


async def finish_then_cancel(work: Awaitable[T]) -> T:
    """Await `work` to completion even if the caller is cancelled meanwhile, then honour the cancellation.

    WebSocket handlers are cancelled when a peer vanishes or the server stops; cancelling a coroutine
    in the middle of a database call leaves a pooled connection half-used (and aiosqlite may hang on
    closing it). Database work started for a connection is therefore finished first.
    """
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.done():
                raise
            cancelled = True
            continue
        if cancelled:
            raise asyncio.CancelledError
        return result
