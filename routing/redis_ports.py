"""Every port's Redis adapter over one connection pool (REDIS_URL set: many workers share state)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from routing.ports import Clock
from routing.redis_events import RedisEventBus
from routing.redis_idempotency import RedisIdempotencyStore
from routing.redis_keys import DEFAULT_PREFIX, RedisKeys
from routing.redis_presence import RedisPresenceStore
from routing.redis_queue import RedisQueueStore


def connect(url: str) -> Redis:
    """A redis.asyncio client for the engine (strings in and out)."""
    return Redis.from_url(url, decode_responses=True)


@dataclass(frozen=True)
class RedisPorts:
    """Every port's Redis adapter, sharing one client, clock and key prefix."""

    client: Redis
    queues: RedisQueueStore
    presence: RedisPresenceStore
    events: RedisEventBus
    idempotency: RedisIdempotencyStore

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()


def redis_ports(client: Redis, clock: Clock, prefix: str = DEFAULT_PREFIX) -> RedisPorts:
    """Build the adapters over an existing client (made with `connect`)."""
    keys = RedisKeys(prefix)
    return RedisPorts(
        client,
        RedisQueueStore(client, clock, keys),
        RedisPresenceStore(client, clock, keys),
        RedisEventBus(client, keys),
        RedisIdempotencyStore(client, clock, keys),
    )
