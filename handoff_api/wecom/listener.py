"""The WeCom channel's share of routing's events: new messages to relay, escalations to notify.

A listener on the process's shared realtime hub (handoff_api.realtime.RealtimeHub) takes the
MessageAdded and Escalated events; each is handled in the background, in order per conversation.
A RESYNC from the hub (its bus subscription broke, so events may have been missed) starts a
catch-up on replies, as a start does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from handoff_api.realtime import Listener, RealtimeHub, Resync, Stop, stop_reader
from handoff_api.wecom.tasks import BackgroundTaskSet
from routing.events import Escalated, MessageAdded, RoutingEvent
from routing.ports import Clock

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
STOP_TIMEOUT_SECONDS = 5.0


class MessageRelay(Protocol):
    """handoff_api.wecom.replies.ReplyRelay."""

    async def handle(self, event: MessageAdded) -> bool: ...

    async def catch_up(self, since: datetime) -> int: ...


class EscalationNotifications(Protocol):
    """handoff_api.wecom.notifications.EscalationNotifier."""

    async def handle(self, event: Escalated) -> object: ...


class OrderedDispatcher:
    """Runs jobs in the background, in submission order per key (one conversation's messages stay in order)."""

    def __init__(self, tasks: BackgroundTaskSet) -> None:
        self._tasks = tasks
        self._pending: dict[str, deque[Job]] = {}

    def submit(self, key: str, job: Job) -> None:
        """Queue job after the key's earlier jobs."""
        pending = self._pending.get(key)
        if pending is not None:
            pending.append(job)
            return
        self._pending[key] = deque([job])
        self._tasks.spawn(self._drain(key), name=f"wecom-events:{key}")

    async def _drain(self, key: str) -> None:
        pending = self._pending[key]
        try:
            while pending:
                job = pending.popleft()
                try:
                    await job()
                except Exception:
                    logger.exception("wecom event job for %s failed", key)
        finally:
            del self._pending[key]


def wanted(event: RoutingEvent) -> bool:
    """The events the WeCom channel acts on."""
    return isinstance(event, MessageAdded | Escalated)


class WeComEventListener:
    """Hands the hub's MessageAdded events to the relay and Escalated events to the notifier."""

    def __init__(
        self,
        hub: RealtimeHub,
        relay: MessageRelay,
        notifier: EscalationNotifications,
        *,
        catch_up: timedelta,
        clock: Clock,
    ) -> None:
        self._hub = hub
        self._relay = relay
        self._notifier = notifier
        self._catch_up = catch_up
        self._clock = clock
        self._jobs = BackgroundTaskSet()
        self._dispatcher = OrderedDispatcher(self._jobs)
        self._listener: Listener | None = None
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Listen on the hub (from now on nothing is missed), and catch up on what a restart missed."""
        self._listener = self._hub.listen(wanted)
        self._reader = asyncio.create_task(self._read(self._listener), name="wecom-events")
        self._catch_up_later()

    async def stop(self) -> None:
        """Stop listening after the event in hand, then let the jobs already queued finish."""
        listener, reader = self._listener, self._reader
        self._listener = self._reader = None
        if listener is not None and reader is not None:
            await stop_reader(listener, reader, STOP_TIMEOUT_SECONDS)
            self._hub.forget(listener)
        await self._jobs.aclose()

    async def idle(self) -> None:
        """Wait until every event job started so far has finished (tests, shutdown)."""
        await self._jobs.join()

    def dispatch(self, event: RoutingEvent) -> None:
        """Hand one event to the relay or the notifier, in order per conversation."""
        match event:
            case MessageAdded():
                self._dispatcher.submit(event.conversation_id, lambda: self._relay.handle(event))
            case Escalated():
                self._dispatcher.submit(event.conversation_id, lambda: self._notifier.handle(event))
            case _:
                pass

    async def _read(self, listener: Listener) -> None:
        while True:
            event = await listener.next()
            if isinstance(event, Stop):
                return
            if isinstance(event, Resync):
                logger.warning("wecom: routing events may have been missed; catching up on replies")
                self._catch_up_later()
            elif event is not None:
                self.dispatch(event)

    def _catch_up_later(self) -> None:
        if self._catch_up > timedelta(0):
            self._jobs.spawn(self._catch_up_once(), name="wecom-catch-up")

    async def _catch_up_once(self) -> None:
        relayed = await self._relay.catch_up(self._clock.now() - self._catch_up)
        if relayed:
            logger.info("wecom: caught up on %d replies missed", relayed)
