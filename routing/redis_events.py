"""EventBus on Redis pub/sub: every process subscribed to the channel gets every event."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from routing.events import RoutingEvent, from_wire, to_wire
from routing.redis_keys import RedisKeys

log = logging.getLogger(__name__)

_POLL_SECONDS = 1.0


class RedisSubscription:
    """One pub/sub connection listening to the events channel."""

    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    def __aiter__(self) -> AsyncIterator[RoutingEvent]:
        """Iterate events forever (until cancelled or closed)."""
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[RoutingEvent]:
        while True:
            event = await self.next_event(_POLL_SECONDS)
            if event is not None:
                yield event

    async def next_event(self, within_seconds: float | None = None) -> RoutingEvent | None:
        """The next event or None after the wait (None waits for ever); undecodable messages are skipped."""
        loop = asyncio.get_running_loop()
        deadline = None if within_seconds is None else loop.time() + within_seconds
        while True:
            left = _POLL_SECONDS if deadline is None else max(deadline - loop.time(), 0.0)
            message: Any = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is not None and message.get("type") == "message":
                decoded = _decode(message["data"])
                if decoded is not None:
                    return decoded
            if deadline is not None and loop.time() >= deadline:
                return None

    async def close(self) -> None:
        """Unsubscribe and free the connection."""
        await self._pubsub.unsubscribe()
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]


class RedisEventBus:
    """routing.ports.EventBus on one Redis pub/sub channel."""

    def __init__(self, client: Redis, keys: RedisKeys | None = None) -> None:
        self._redis = client
        self._channel = (keys or RedisKeys()).events_channel

    async def publish(self, event: RoutingEvent) -> None:
        """Publish the event as JSON to every subscribed process."""
        await self._redis.publish(self._channel, json.dumps(to_wire(event), ensure_ascii=False))

    async def subscribe(self) -> RedisSubscription:
        """Subscribe and wait until Redis confirms, so no later event is missed."""
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self._channel)
        for _attempt in range(50):
            message: Any = await pubsub.get_message(timeout=0.1)
            if message is not None and message.get("type") == "subscribe":
                break
        return RedisSubscription(pubsub)


def _decode(data: str | bytes) -> RoutingEvent | None:
    try:
        event = from_wire(json.loads(data))
    except ValueError:
        event = None
    if event is None:
        log.warning("ignored an event that is not a known routing event (%d bytes)", len(data))
    return event
