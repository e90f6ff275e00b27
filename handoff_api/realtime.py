"""Real-time fan-out: one EventBus subscription per process, dispatched to the WebSockets connected here.

With the in-memory bus this is a single process; with Redis every worker subscribes once, so an event
published by any worker reaches every browser whichever worker holds its WebSocket. Each connection
registers a `Listener` with a predicate (what it may see); events arrive on the listener's queue.
If the bus subscription breaks (e.g. Redis restarts) the hub resubscribes with backoff and sends every
listener a `resync` event, so connections re-read the record and lose nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import FastAPI

from routing.ports import Event, EventBus, Subscription

log = logging.getLogger(__name__)

T = TypeVar("T")

RESYNC: Event = {"type": "resync"}
"""Sent to listeners when events may have been missed; they re-read what they show from the record."""

EventFilter = Callable[[Event], bool]


def _everything(_: Event) -> bool:
    return True


@dataclass(eq=False)
class Listener:
    """One connection's inbox of events that passed its filter."""

    accepts: EventFilter
    backlog: int
    queue: asyncio.Queue[Event] = field(default_factory=asyncio.Queue)

    def offer(self, event: Event) -> None:
        """Queue the event if accepted; a full inbox is replaced by one `resync` (the reader catches up)."""
        try:
            wanted = event is RESYNC or self.accepts(event)
        except Exception:
            log.exception("event filter failed on %s", event.get("type"))
            return
        if not wanted:
            return
        if self.queue.qsize() >= self.backlog:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(RESYNC)
            return
        self.queue.put_nowait(event)

    async def next(self, within_seconds: float | None = None) -> Event | None:
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

    def dispatch(self, event: Event) -> None:
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
                    if isinstance(event, dict) and isinstance(event.get("type"), str):
                        self.dispatch(event)
                await self._close_subscription()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event subscription failed (%s); resubscribing in %.1fs", exc, delay)
                await self._close_subscription()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


async def realtime_hub(app: FastAPI) -> RealtimeHub:
    """The app's hub, created and started on first use (from the container's event bus)."""
    hub: RealtimeHub | None = getattr(app.state, "realtime_hub", None)
    if hub is None:
        hub = RealtimeHub(app.state.container.events)
        app.state.realtime_hub = hub
    await hub.start()
    return hub


async def stop_realtime(app: FastAPI) -> None:
    """Stop the app's hub if one was started (call at shutdown)."""
    hub: RealtimeHub | None = getattr(app.state, "realtime_hub", None)
    if hub is not None:
        await hub.stop()
        app.state.realtime_hub = None


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
