"""Reconciliation: SQL is the record; each tick repairs the queue store to agree with it.

Runs over the memory and the Redis queue store (a real Redis: tests.net), with the fake and the
SQLite record.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from routing.models import Channel, Conversation, ConversationState, EscalationReason, QueueName
from routing.ports import QueueEntry, QueueStore
from routing.redis_keys import RedisKeys
from routing.redis_ports import connect
from routing.redis_queue import RedisQueueStore
from routing.service.journal import SYSTEM_ACTOR, Journal
from routing.service.reconcile import Repairs
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord
from routing.state_machine import TransitionName
from tests.routing.contract.conftest import REDIS_URL, delete_prefix
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import World, build_world

ADVISOR, SERVICE = QueueName.ADVISOR, QueueName.SERVICE
GRACE = 5.0  # RoutingSettings.reconcile_grace_seconds' default


@dataclass
class Setup:
    world: World
    queues: QueueStore


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture(params=["memory-fake", "memory-sql", "redis-fake", "redis-sql"])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    queue_backend, record_backend = request.param.split("-")
    engine = create_engine_for(request.getfixturevalue("migrated_database_url")) if record_backend == "sql" else None
    world = await build_world(SqlRecord(engine) if engine else FakeRecord())
    prefix = f"tre-test-{uuid.uuid4().hex[:10]}:"
    client = connect(REDIS_URL) if queue_backend == "redis" else None
    queues: QueueStore = world.queues
    if client is not None:
        queues = RedisQueueStore(client, world.clock, RedisKeys(prefix))
        world.service.queues = queues
    await world.service.rebuild_if_emptied()  # marks the stores, as a worker's start-up does
    await world.online("adv1")
    busy = await queued_or_served(world, "c-other")  # adv1 is online, but busy: advisor escalations wait
    assert busy.assignee_id == "adv1"
    try:
        yield Setup(world, queues)
    finally:
        if client is not None:
            await client.aclose()
            await delete_prefix(REDIS_URL, prefix)
        if engine is not None:
            await engine.dispose()


async def queued_or_served(world: World, client_id: str, queue: QueueName = ADVISOR) -> Conversation:
    conversation = await world.service.start_conversation(client_id, Channel.WIDGET)
    text = "这只股票能买吗" if queue == ADVISOR else "怎么改密码"
    await world.service.record_client_message(conversation.id, text)
    return await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, queue, text)


async def queued(world: World, client_id: str, queue: QueueName = ADVISOR) -> Conversation:
    after = await queued_or_served(world, client_id, queue)
    assert after.state == ConversationState.QUEUED
    return after


async def test_agreeing_stores_need_no_repair(setup: Setup) -> None:
    await queued(setup.world, "c-std")
    setup.world.clock.advance(GRACE + 1)
    report = await setup.world.service.tick()
    assert report.repairs == Repairs() and report.repairs.total == 0


async def test_a_missing_entry_is_restored_at_its_old_place_once_settled(setup: Setup) -> None:
    std = await queued(setup.world, "c-std")
    setup.world.clock.advance(1)
    vip = await queued(setup.world, "c-vip")
    before = await setup.queues.entries(ADVISOR)
    assert [e.conversation_id for e in before] == [vip.id, std.id]
    await setup.queues.remove(vip.ticket_id or "")  # a flush, a crash between the record and the queue
    assert (await setup.world.service.tick()).repairs == Repairs()  # within the grace: maybe in flight
    setup.world.clock.advance(GRACE + 1)
    assert (await setup.world.service.tick()).repairs == Repairs(restored=1)
    assert await setup.queues.entries(ADVISOR) == before  # VIP first again, same enqueue time


async def test_an_entry_nobody_waits_on_is_dropped(setup: Setup) -> None:
    gone = await queued(setup.world, "c-std")
    await setup.world.service.close(None, gone.id)
    bot = await setup.world.service.start_conversation("c-gold", Channel.WIDGET)
    now = setup.world.clock.now()
    for entry in (
        QueueEntry(gone.ticket_id or "", gone.id, ADVISOR, 0, now),  # closed
        QueueEntry("t-never", bot.id, ADVISOR, 0, now),  # the bot still owns it
    ):
        await setup.queues.enqueue(entry)
    assert (await setup.world.service.tick()).repairs == Repairs(dropped=2)
    assert await setup.queues.entries(ADVISOR) == []


async def test_an_entry_in_the_wrong_queue_is_moved(setup: Setup) -> None:
    waiting = await queued(setup.world, "c-std")
    [entry] = await setup.queues.entries(ADVISOR)
    await setup.queues.enqueue(QueueEntry(entry.ticket_id, entry.conversation_id, SERVICE, 0, entry.enqueued_at))
    assert (await setup.world.service.tick()).repairs == Repairs(moved=1)
    assert await setup.queues.position(ADVISOR, waiting.ticket_id or "") == 1
    assert await setup.queues.entries(SERVICE) == []


async def test_a_leased_entry_is_left_to_its_claimer(setup: Setup) -> None:
    waiting = await queued(setup.world, "c-std")
    await setup.queues.claim_head(ADVISOR, "w-elsewhere:adv1", 30)
    setup.world.clock.advance(GRACE + 1)
    assert (await setup.world.service.tick()).repairs == Repairs()
    assert await setup.queues.location(waiting.ticket_id or "") == "lease"
    still = await setup.world.record.get_conversation(waiting.id)
    assert still is not None and still.state == ConversationState.QUEUED


async def test_a_load_that_disagrees_with_the_record_is_corrected_once_settled(setup: Setup) -> None:
    presence = setup.world.presence
    await presence.set_load("adv1", 3)  # a flush and a rebuild raced a resolve: adv1 holds 1
    await presence.set_load("adv2", 1)  # a worker died between a claim's reserve and the record
    assert (await setup.world.service.tick()).repairs == Repairs()  # maybe work in flight
    setup.world.clock.advance(GRACE / 2)
    await presence.release("adv1")  # it moved meanwhile: the disagreement starts again
    setup.world.clock.advance(GRACE / 2 + 1)
    assert (await setup.world.service.tick()).repairs == Repairs(loads=1)  # adv2 waited out the grace
    assert await presence.loads(["adv1", "adv2"]) == {"adv1": 2, "adv2": 0}
    setup.world.clock.advance(GRACE + 1)
    assert (await setup.world.service.tick()).repairs == Repairs(loads=1)
    assert await presence.loads(["adv1", "adv2"]) == {"adv1": 1, "adv2": 0}
    setup.world.clock.advance(GRACE + 1)
    assert (await setup.world.service.tick()).repairs == Repairs()


async def test_a_load_below_what_is_held_is_corrected_at_once(setup: Setup) -> None:
    await setup.world.presence.set_load("adv1", 0)  # a claim raced a rebuild: adv1 could be given a second one
    assert (await setup.world.service.tick()).repairs == Repairs(loads=1)
    assert await setup.world.presence.load("adv1") == 1
    waiting = await queued(setup.world, "c-std")  # so adv1 is full again, and the escalation waits
    assert waiting.assignee_id is None


async def test_a_stale_entry_left_by_a_move_is_dropped_in_one_tick(setup: Setup) -> None:
    waiting = await queued(setup.world, "c-std")
    journal = Journal(setup.world.record, setup.world.events, setup.world.clock)
    await journal.move(waiting, TransitionName.CLOSE, SYSTEM_ACTOR, "closed by a worker that died")
    assert (await setup.world.service.tick()).repairs == Repairs(dropped=1)
    assert await setup.queues.location(waiting.ticket_id or "") is None
