"""Every port's contract runs against both adapters: in-process memory and a real Redis.

Redis tests use TEST_REDIS_URL (tests.net; default redis://127.0.0.1:6379/0) under a unique key prefix
that is deleted afterwards. They never skip: a missing Redis is a failure.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from routing.memory import ManualClock, memory_ports
from routing.ports import EventBus, IdempotencyStore, PresenceStore, QueueStore
from routing.redis_ports import connect, redis_ports
from tests.net import TEST_REDIS_URL

REDIS_URL = TEST_REDIS_URL


@dataclass
class Stores:
    backend: str
    clock: ManualClock
    queues: QueueStore
    presence: PresenceStore
    events: EventBus
    idempotency: IdempotencyStore


async def delete_prefix(url: str, prefix: str) -> None:
    client = connect(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture(params=["memory", "redis"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[Stores]:
    clock = ManualClock()
    if request.param == "memory":
        ports = memory_ports(clock)
        yield Stores("memory", clock, ports.queues, ports.presence, ports.events, ports.idempotency)
        return
    prefix = f"tre-test-{uuid.uuid4().hex[:10]}:"
    client = connect(REDIS_URL)
    redis = redis_ports(client, clock, prefix)
    try:
        yield Stores("redis", clock, redis.queues, redis.presence, redis.events, redis.idempotency)
    finally:
        await redis.close()
        await delete_prefix(REDIS_URL, prefix)
