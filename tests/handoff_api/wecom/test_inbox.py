"""The Inbox contract (memory, SQLite, PostgreSQL), and InboxWorker: attempts, backoff, giving up, retry passes."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handoff_api.wecom.inbox import (
    CursorUpdate,
    Inbox,
    InboxRetention,
    InboxRetryPolicy,
    InboxStatus,
    InboxWorker,
    MemoryInbox,
)
from handoff_api.wecom.store import stored_key
from handoff_api.wecom.store.tables import DEDUP_KEY_LENGTH
from routing.memory import ManualClock

START = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
NOW = START
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)
POLICY = InboxRetryPolicy(max_attempts=3, backoff_base_seconds=10, backoff_cap_seconds=15, lease_seconds=60)


async def added(inbox: Inbox, key: str, kind: str, payload: Mapping[str, Any], at: datetime = NOW) -> int:
    """Add an item that must be new; its id."""
    item_id = await inbox.add(key, kind, payload, next_attempt_at=at)
    assert item_id is not None
    return item_id


async def accepted(worker: InboxWorker, kind: str, payload: Mapping[str, Any]) -> int:
    """Accept an item under its name as key; its id."""
    item_id = await worker.accept(kind, payload, key=str(payload["name"]))
    assert item_id is not None
    return item_id


async def test_items_are_due_in_id_order_once_their_time_has_come(inbox: Inbox) -> None:
    first = await added(inbox, "k1", "callback", {"xml": "<xml/>"})
    second = await added(inbox, "k2", "kf", {"msg_id": "m1"}, NOW - timedelta(seconds=5))
    later = await added(inbox, "k3", "kf", {"msg_id": "m2"}, NOW + timedelta(minutes=5))
    due = await inbox.due(NOW, 50, 60)
    assert [item.id for item in due] == [first, second] and later not in [item.id for item in due]
    assert (due[0].kind, due[0].payload, due[0].status, due[0].attempts) == (
        "callback",
        {"xml": "<xml/>"},
        InboxStatus.PENDING,
        0,
    )


async def test_due_items_are_leased_to_one_taker(inbox: Inbox) -> None:
    item_id = await added(inbox, "k1", "callback", {"n": 1})
    batches = await asyncio.gather(*(inbox.due(NOW, 50, 60) for _ in range(4)))
    assert sorted(item.id for batch in batches for item in batch) == [item_id]
    assert await inbox.due(NOW + timedelta(seconds=59), 50, 60) == []
    assert [item.id for item in await inbox.due(NOW + timedelta(seconds=61), 50, 60)] == [item_id]


async def test_handled_and_given_up_items_are_never_due_again(inbox: Inbox) -> None:
    handled = await added(inbox, "k1", "callback", {"n": 1})
    retried = await added(inbox, "k2", "callback", {"n": 2})
    given_up = await added(inbox, "k3", "callback", {"n": 3})
    await inbox.mark_handled(handled, NOW + timedelta(seconds=1))
    await inbox.mark_failed(retried, "ConnectionError: x", NOW + timedelta(minutes=1))
    await inbox.mark_failed(given_up, "ConnectionError: y", None)
    done, again, dead = [await inbox.get(item_id) for item_id in (handled, retried, given_up)]
    assert done is not None and (done.status, done.attempts, done.handled_at) == (
        InboxStatus.HANDLED,
        1,
        NOW + timedelta(seconds=1),
    )
    assert again is not None and (again.status, again.attempts, again.last_error) == (
        InboxStatus.PENDING,
        1,
        "ConnectionError: x",
    )
    assert dead is not None and dead.status is InboxStatus.FAILED
    assert [item.id for item in await inbox.due(NOW + timedelta(days=1), 50, 60)] == [retried]
    assert await inbox.get(10_000) is None


async def test_naive_timestamps_are_refused(inbox: Inbox) -> None:
    with pytest.raises(ValueError):
        await inbox.add("k1", "callback", {}, next_attempt_at=datetime(2026, 1, 1))


async def test_a_key_is_stored_once_and_a_duplicate_is_recognised_not_refused(inbox: Inbox) -> None:
    first = await added(inbox, "wecom:msg:1001", "callback", {"xml": "a"})
    assert await inbox.add("wecom:msg:1001", "callback", {"xml": "again"}, next_attempt_at=NOW) is None
    item = await inbox.get(first)
    assert item is not None and item.payload == {"xml": "a"}
    assert [found.id for found in await inbox.due(NOW, 50, 60)] == [first]


async def test_concurrent_deliveries_of_one_message_store_it_once(inbox: Inbox) -> None:
    ids = await asyncio.gather(
        *(inbox.add("wecom:msg:race", "callback", {"n": n}, next_attempt_at=NOW) for n in range(5))
    )
    assert len([item_id for item_id in ids if item_id is not None]) == 1


async def test_a_pulled_page_stores_only_the_messages_not_stored_before(inbox: Inbox) -> None:
    await added(inbox, "wecom:kf:m1", "kf", {"msg_id": "m1"})
    page = [("wecom:kf:m1", {"msg_id": "m1"}), ("wecom:kf:m2", {"msg_id": "m2"}), ("wecom:kf:m2", {"msg_id": "m2"})]
    first, second, repeated = await inbox.add_pulled("kf", page, next_attempt_at=NOW, cursor=None)
    assert first is None and second is not None and repeated is None


async def test_very_long_keys_are_kept_apart(inbox: Inbox) -> None:
    prefix = "wecom:kf_event:wkKF:" + "t" * 300
    assert await inbox.add(prefix + "1", "callback", {}, next_attempt_at=NOW) is not None
    assert await inbox.add(prefix + "2", "callback", {}, next_attempt_at=NOW) is not None
    assert await inbox.add(prefix + "1", "callback", {}, next_attempt_at=NOW) is None


def test_a_long_key_is_stored_as_its_digest() -> None:
    assert stored_key("wecom:msg:1") == "wecom:msg:1"
    digest = stored_key("k" * 256)
    assert digest.startswith("sha256:") and len(digest) <= DEDUP_KEY_LENGTH and digest != stored_key("k" * 257)


async def test_a_pulled_page_and_its_cursor_are_stored_together(inbox: Inbox) -> None:
    assert await inbox.cursor("tre:wecom:kf_cursor:ww1:wk1") is None
    cursor = CursorUpdate("tre:wecom:kf_cursor:ww1:wk1", "c-2", FAR_FUTURE)
    ids = await inbox.add_pulled(
        "kf", [("m1", {"msg_id": "m1"}), ("m2", {"msg_id": "m2"})], next_attempt_at=NOW, cursor=cursor
    )
    stored = [await inbox.get(item_id) for item_id in ids if item_id is not None]
    assert [item.payload for item in stored if item is not None] == [{"msg_id": "m1"}, {"msg_id": "m2"}]
    assert await inbox.cursor("tre:wecom:kf_cursor:ww1:wk1") == "c-2"
    later = CursorUpdate("tre:wecom:kf_cursor:ww1:wk1", "c-3", FAR_FUTURE)
    assert await inbox.add_pulled("kf", [], next_attempt_at=NOW, cursor=later) == []
    assert await inbox.cursor("tre:wecom:kf_cursor:ww1:wk1") == "c-3"
    assert await inbox.add_pulled("kf", [("m4", {"msg_id": "m4"})], next_attempt_at=NOW, cursor=None)
    assert await inbox.cursor("tre:wecom:kf_cursor:ww1:wk1") == "c-3"  # no new cursor: the old one stays


async def test_an_expired_cursor_is_not_used(inbox: Inbox) -> None:
    expired = CursorUpdate("tre:wecom:kf_cursor:ww1:wk2", "c-old", datetime(2000, 1, 1, tzinfo=UTC))
    await inbox.add_pulled("kf", [], next_attempt_at=NOW, cursor=expired)
    assert await inbox.cursor("tre:wecom:kf_cursor:ww1:wk2") is None


async def test_expiry_deletes_handled_and_given_up_items_by_age_and_never_pending_ones(inbox: Inbox) -> None:
    handled = await added(inbox, "k-handled", "callback", {"n": 1})
    given_up = await added(inbox, "k-failed", "callback", {"n": 2})
    pending = await added(inbox, "k-pending", "callback", {"n": 3})
    await inbox.mark_handled(handled, NOW)
    await inbox.mark_failed(given_up, "ValueError: bad", None)
    item = await inbox.get(handled)
    assert item is not None
    arrived = item.created_at
    assert await inbox.expire(handled_before=arrived, failed_before=arrived) == 0  # not older than the cut-off
    soon = arrived + timedelta(seconds=1)
    assert await inbox.expire(handled_before=soon, failed_before=arrived) == 1
    assert await inbox.get(handled) is None and await inbox.get(given_up) is not None
    assert await inbox.expire(handled_before=FAR_FUTURE, failed_before=FAR_FUTURE) == 1
    assert await inbox.get(given_up) is None and await inbox.get(pending) is not None
    assert await inbox.add("k-handled", "callback", {"n": 4}, next_attempt_at=NOW) is not None  # its key is free again


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
        self.clock = ManualClock(START)
        self.inbox = MemoryInbox(self.clock)
        self.handler = Handler()
        self.worker = InboxWorker(self.inbox, self.handler, POLICY, clock=self.clock)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


async def test_a_handled_item_is_marked_and_never_due_again() -> None:
    world = World()
    item_id = await accepted(world.worker, "callback", {"name": "a"})
    assert await world.worker.attempt(item_id, "callback", {"name": "a"})
    item = await world.inbox.get(item_id)
    assert item is not None and item.status is InboxStatus.HANDLED and item.handled_at == START
    world.advance(3600)
    assert await world.worker.retry_once() == 0 and world.handler.handled == ["callback:a"]


async def test_failures_back_off_then_give_up_and_keep_the_item() -> None:
    world = World()
    world.handler.failing.add("b")
    item_id = await accepted(world.worker, "kf", {"name": "b"})
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
    assert item is not None and item.status is InboxStatus.FAILED and item.attempts == 3
    world.handler.failing.clear()
    world.advance(3600)
    assert await world.worker.retry_once() == 0 and world.handler.handled == []


async def test_a_retry_pass_goes_on_past_a_failing_item() -> None:
    world = World()
    world.handler.failing.add("x")
    for name in ("x", "y"):
        await accepted(world.worker, "callback", {"name": name})  # never attempted: the worker died
    world.advance(59)
    assert await world.worker.retry_once() == 0  # still leased to the first attempt
    world.advance(1)
    assert await world.worker.retry_once() == 1 and world.handler.handled == ["callback:y"]


async def test_run_retries_until_stopped() -> None:
    world = World()
    fast = InboxWorker(world.inbox, world.handler, InboxRetryPolicy(lease_seconds=0, interval_seconds=0.01))
    await fast.accept("callback", {"name": "z"}, key="z")
    stop = asyncio.Event()
    runner = asyncio.create_task(fast.run(stop))
    for _ in range(100):
        if world.handler.handled:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(runner, timeout=1)
    assert world.handler.handled == ["callback:z"]


async def test_the_expiry_pass_keeps_handled_items_for_the_retention_and_given_up_ones_longer() -> None:
    world = World()
    retention = InboxRetention(handled_days=30, failed_days=90)
    worker = InboxWorker(world.inbox, world.handler, POLICY, retention=retention, clock=world.clock)
    world.handler.failing.add("bad")
    handled = await accepted(worker, "callback", {"name": "good"})
    assert await worker.attempt(handled, "callback", {"name": "good"})
    given_up = await accepted(worker, "callback", {"name": "bad"})
    for attempt in range(POLICY.max_attempts):
        await worker.attempt(given_up, "callback", {"name": "bad"}, failed_before=attempt)
    pending = await accepted(worker, "callback", {"name": "later"})
    world.advance(30 * 86400 - 1)
    assert await worker.expire_once() == 0
    world.advance(2)
    assert await worker.expire_once() == 1 and await world.inbox.get(handled) is None
    world.advance(60 * 86400)
    assert await worker.expire_once() == 1 and await world.inbox.get(given_up) is None
    assert await world.inbox.get(pending) is not None  # still to be handled: never expires


async def test_run_expiry_deletes_until_stopped() -> None:
    world = World()
    worker = InboxWorker(world.inbox, world.handler, retention=InboxRetention(interval_seconds=0.01), clock=world.clock)
    item_id = await accepted(worker, "callback", {"name": "old"})
    assert await worker.attempt(item_id, "callback", {"name": "old"})
    world.advance(31 * 86400)
    stop = asyncio.Event()
    runner = asyncio.create_task(worker.run_expiry(stop))
    for _ in range(100):
        if await world.inbox.get(item_id) is None:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(runner, timeout=1)
    assert await world.inbox.get(item_id) is None


async def test_the_backlog_counts_pending_and_given_up_items_and_dates_the_oldest_pending(inbox: Inbox) -> None:
    empty = await inbox.backlog()
    assert (empty.pending, empty.failed, empty.oldest_pending_at) == (0, 0, None)
    first = await added(inbox, "m1", "callback", {"name": "m1"})
    await added(inbox, "m2", "callback", {"name": "m2"}, at=NOW + timedelta(minutes=5))
    handled = await added(inbox, "m3", "callback", {"name": "m3"})
    given_up = await added(inbox, "m4", "callback", {"name": "m4"})
    await inbox.mark_handled(handled, NOW)
    await inbox.mark_failed(given_up, "handler failed", None)
    backlog = await inbox.backlog()
    stored = await inbox.get(first)
    assert (backlog.pending, backlog.failed) == (2, 1)
    assert stored is not None and backlog.oldest_pending_at == stored.created_at
