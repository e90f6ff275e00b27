"""InboxWorker: attempts, backoff, giving up, and retry passes, on a controlled clock."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from handoff_api.wecom.inbox import InboxRetryPolicy, InboxWorker
from handoff_api.wecom.outbox import MemoryOutbox, OutboxStatus

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
POLICY = InboxRetryPolicy(max_attempts=3, backoff_base_seconds=10, backoff_cap_seconds=15, lease_seconds=60)


class Handler:
    def __init__(self) -> None:
        self.failing: set[str] = set()
        self.handled: list[str] = []

    async def __call__(self, kind: str, payload: Mapping[str, Any]) -> None:
        name = str(payload["name"])
        if name in self.failing:
            raise ConnectionError(f"{name} failed")
        self.handled.append(f"{kind}:{name}")


class World:
    def __init__(self) -> None:
        self.now = START
        self.inbox = MemoryOutbox()
        self.handler = Handler()
        self.worker = InboxWorker(self.inbox, self.handler, POLICY, clock=lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def test_a_handled_item_is_marked_and_never_due_again() -> None:
    world = World()
    item_id = await world.worker.accept("callback", {"name": "a"})
    assert await world.worker.attempt(item_id, "callback", {"name": "a"})
    item = await world.inbox.get(item_id)
    assert item is not None and item.status is OutboxStatus.SENT and item.sent_at == START
    world.advance(3600)
    assert await world.worker.retry_once() == 0 and world.handler.handled == ["callback:a"]


async def test_failures_back_off_then_give_up_and_keep_the_item() -> None:
    world = World()
    world.handler.failing.add("b")
    item_id = await world.worker.accept("kf", {"name": "b"})
    assert not await world.worker.attempt(item_id, "kf", {"name": "b"})
    world.advance(9)
    assert await world.worker.retry_once() == 0  # 10 s backoff after the first failure
    item = await world.inbox.get(item_id)
    assert item is not None and item.attempts == 1 and item.last_error == "ConnectionError: b failed"
    world.advance(1)
    assert await world.worker.retry_once() == 0  # second failure: backoff 20 s capped at 15 s
    world.advance(15)
    assert await world.worker.retry_once() == 0  # third failure: given up
    item = await world.inbox.get(item_id)
    assert item is not None and item.status is OutboxStatus.FAILED and item.attempts == 3
    world.handler.failing.clear()
    world.advance(3600)
    assert await world.worker.retry_once() == 0 and world.handler.handled == []


async def test_a_retry_pass_goes_on_past_a_failing_item() -> None:
    world = World()
    world.handler.failing.add("x")
    for name in ("x", "y"):
        await world.worker.accept("callback", {"name": name})  # never attempted: the worker died
    world.advance(59)
    assert await world.worker.retry_once() == 0  # still leased to the first attempt
    world.advance(1)
    assert await world.worker.retry_once() == 1 and world.handler.handled == ["callback:y"]


async def test_run_retries_until_stopped() -> None:
    world = World()
    fast = InboxWorker(world.inbox, world.handler, InboxRetryPolicy(lease_seconds=0, interval_seconds=0.01))
    await fast.accept("callback", {"name": "z"})
    stop = asyncio.Event()
    runner = asyncio.create_task(fast.run(stop))
    for _ in range(100):
        if world.handler.handled:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(runner, timeout=1)
    assert world.handler.handled == ["callback:z"]
