"""Correctness under load: several worker processes, one PostgreSQL record, one Redis.

Two worker processes fire 1,000 escalations plus claims, resolves, ticks and random presence
changes at once. Afterwards every ticket is in exactly one place, each queue is VIP-first then
FIFO, and no staff member ever held more conversations than their concurrency (sampled while the
workers run, and checked exactly at the end). A worker killed mid-claim loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from routing import sql_tables as t
from routing.memory import SystemClock
from routing.models import Channel, Client, ConversationState, EscalationReason, Presence, QueueName, Role, Staff
from routing.redis_ports import RedisPorts, connect, redis_ports
from routing.service import RoutingService
from routing.settings import RoutingSettings
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord
from tests.routing.contract.conftest import REDIS_URL, delete_prefix
from tests.routing.service_world import KeywordClassifier

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
BRANCH = "sh01"
A, S = QueueName.ADVISOR, QueueName.SERVICE
TIERS = ["diamond", "gold", "silver", "standard"]
ESCALATIONS_PER_WORKER = 500
CLIENTS = 2 * ESCALATIONS_PER_WORKER
"""One client per escalation: a client has one open conversation per channel, so each escalation needs its own."""


def directory() -> tuple[list[Client], list[Staff]]:
    responders = [Staff(f"r{i}", f"响应人{i}", Role.RESPONDER, frozenset(), 50, BRANCH) for i in range(5)]
    agents = [
        *(Staff(f"adv{i}", f"投顾{i}", Role.ADVISOR, frozenset({A}), 2 + i % 3, BRANCH, f"S00{i}") for i in range(4)),
        *(Staff(f"svc{i}", f"客服{i}", Role.SERVICE, frozenset({S}), 3, BRANCH) for i in range(4)),
        *(Staff(f"both{i}", f"专员{i}", Role.SERVICE, frozenset({A, S}), 4, BRANCH) for i in range(2)),
    ]
    manager = Staff("dm", "值班经理", Role.DUTY_MANAGER, frozenset(), 50, BRANCH)
    clients = [Client(f"c{i:03d}", f"客户{i}", TIERS[i % 4], i % 10 == 0, BRANCH, f"r{i % 5}") for i in range(CLIENTS)]
    return clients, [*responders, *agents, manager]


@pytest.fixture
def backend() -> str:
    return "postgres"


@dataclass
class Shared:
    database_url: str
    prefix: str
    record: SqlRecord
    ports: RedisPorts
    service: RoutingService
    staff: dict[str, Staff]


@pytest.fixture
async def shared(migrated_database_url: str) -> AsyncIterator[Shared]:
    engine = create_engine_for(migrated_database_url)
    record = SqlRecord(engine)
    clients, staff = directory()
    await record.replace_clients(clients)
    await record.replace_staff(staff)
    prefix = f"tre-conc-{uuid.uuid4().hex[:10]}:"
    ports = redis_ports(connect(REDIS_URL), SystemClock(), prefix)
    settings = RoutingSettings(always_open=True, tier2_wait_limit_seconds=3600, claim_lease_seconds=1)
    service = RoutingService(
        record,
        ports.queues,
        ports.presence,
        ports.events,
        ports.idempotency,
        SystemClock(),
        KeywordClassifier(),
        settings,
    )
    await service.rebuild_if_emptied()  # marks the stores, as a worker's start-up does
    try:
        yield Shared(migrated_database_url, prefix, record, ports, service, {s.id: s for s in staff})
    finally:
        await ports.close()
        await engine.dispose()
        await delete_prefix(REDIS_URL, prefix)


def worker_config(shared: Shared, **extra: Any) -> str:
    return json.dumps({"database_url": shared.database_url, "redis_url": REDIS_URL, "prefix": shared.prefix, **extra})


async def spawn(config: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.routing.concurrency_worker",
        config,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def with_agent_counts(record: SqlRecord) -> dict[str, int]:
    statement = (
        select(t.conversations.c.assignee_id, func.count())
        .where(t.conversations.c.state == ConversationState.WITH_AGENT.value)
        .group_by(t.conversations.c.assignee_id)
    )
    async with record.engine.connect() as conn:
        return {row[0]: int(row[1]) for row in await conn.execute(statement)}


async def watch_capacity(shared: Shared, stop: asyncio.Event, violations: list[str]) -> int:
    samples = 0
    while not stop.is_set():
        for staff_id, count in (await with_agent_counts(shared.record)).items():
            if count > shared.staff[staff_id].max_concurrency:
                violations.append(f"{staff_id} held {count}")
        samples += 1
        await asyncio.sleep(0.05)
    return samples


async def test_two_worker_processes_keep_every_invariant(shared: Shared):
    agents = sorted(s.id for s in shared.staff.values() if s.role in {Role.ADVISOR, Role.SERVICE})
    for staff_id in agents[::2]:
        await shared.service.set_presence(staff_id, Presence.ONLINE)
    clients = [f"c{i:03d}" for i in range(CLIENTS)]
    workers = [
        await spawn(
            worker_config(
                shared,
                mode="load",
                seed=seed,
                clients=clients[seed - 1 :: 2],  # each worker its own clients
                agents=agents,
                escalations=ESCALATIONS_PER_WORKER,
                claims=250,
                resolves=400,
                presence_changes=120,
                ticks=15,
                parallel=16,
            )
        )
        for seed in (1, 2)
    ]
    stop, violations = asyncio.Event(), list[str]()
    watcher = asyncio.create_task(watch_capacity(shared, stop, violations))
    outputs = [await worker.communicate() for worker in workers]
    stop.set()
    samples = await watcher
    for worker, (_out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()[-3000:]
    summaries = [json.loads(out) for out, _err in outputs]
    print("worker outcomes:", json.dumps(summaries, sort_keys=True))
    escalated = sum(v for s in summaries for k, v in s.items() if k.startswith("escalated:"))
    assert escalated == 1000, summaries
    assert sum(s.get("claimed", 0) for s in summaries) > 0, summaries
    assert samples > 5 and violations == []

    conversations = await shared.record.conversations_in_states(set(ConversationState))
    assert len(conversations) == 1000
    leases = await shared.ports.queues.leases()
    assert leases == []
    # every queued conversation's ticket waits in exactly its queue, and nothing else waits anywhere
    queued = {c.ticket_id: c for c in conversations if c.state == ConversationState.QUEUED}
    waiting: Counter[str] = Counter()
    for queue in QueueName:
        entries = await shared.ports.queues.entries(queue, limit=10_000)
        keys = [(-e.priority, e.enqueued_at) for e in entries]
        assert keys == sorted(keys), f"{queue} is not VIP-first then FIFO"
        for entry in entries:
            waiting[entry.ticket_id] += 1
            conversation = queued.get(entry.ticket_id)
            assert conversation is not None, f"stale entry {entry.ticket_id}"
            assert conversation.queue == queue and conversation.id == entry.conversation_id
            ticket = await shared.record.get_ticket(entry.ticket_id)
            assert ticket is not None and (ticket.priority, ticket.enqueued_at) == (entry.priority, entry.enqueued_at)
    assert set(waiting) == set(queued) and set(waiting.values()) <= {1}
    # no staff member above capacity, and the load counters agree with the record
    counts = await with_agent_counts(shared.record)
    for staff_id, count in counts.items():
        assert count <= shared.staff[staff_id].max_concurrency
    loads = await shared.ports.presence.loads(agents)
    assert loads == {staff_id: counts.get(staff_id, 0) for staff_id in agents}


async def test_a_worker_killed_mid_claim_loses_nothing(shared: Shared):
    service = shared.service
    await service.set_presence("adv0", Presence.ONLINE)  # capacity 2
    escalated = []
    for client_id in ("c001", "c002", "c003", "c010"):
        conversation = await service.start_conversation(client_id, Channel.WIDGET)
        escalated.append(await service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, A, "股票"))
    waiting = [c for c in escalated if c.state == ConversationState.QUEUED]
    assert len(waiting) == 2
    worker = await spawn(worker_config(shared, mode="claim_and_hang", queue="advisor", lease_seconds=1))
    assert worker.stdout is not None
    line = await asyncio.wait_for(worker.stdout.readline(), 300)  # a fresh process starts slowly on a busy machine
    ticket_id = json.loads(line)["ticket_id"]
    assert ticket_id == waiting[1].ticket_id  # the VIP (c010) was at the head, before c003
    os.kill(worker.pid, signal.SIGKILL)
    assert await worker.wait() == -signal.SIGKILL
    assert await shared.ports.queues.location(ticket_id) == "lease"
    await service.set_presence("both0", Presence.ONLINE)  # capacity 4: takes what it can see now
    assert (await service.get_conversation(waiting[1].id)).state == ConversationState.QUEUED
    await asyncio.sleep(1.2)
    report = await service.tick()
    assert report.reclaimed == 1 and report.assigned == 1
    for conversation in waiting:
        after = await service.get_conversation(conversation.id)
        assert (after.state, after.assignee_id) == (ConversationState.WITH_AGENT, "both0")
    assert await shared.ports.queues.leases() == []
    assert await shared.ports.queues.location(ticket_id) is None


async def test_queues_are_rebuilt_after_a_redis_flush(shared: Shared):
    service = shared.service
    await service.set_presence("adv1", Presence.ONLINE)  # capacity 3
    for client_id in ("c000", "c001", "c002", "c003", "c004", "c010", "c020"):
        conversation = await service.start_conversation(client_id, Channel.WIDGET)
        await service.escalate_from_bot(conversation.id, EscalationReason.ASKED_HUMAN, A, "股票")
    before = await shared.ports.queues.entries(A)
    assert len(before) == 4 and await shared.ports.presence.load("adv1") == 3
    await delete_prefix(REDIS_URL, shared.prefix)
    assert await shared.ports.queues.entries(A) == []
    assert await service.rebuild_queues() == 4
    assert await shared.ports.queues.entries(A) == before
    assert await shared.ports.presence.load("adv1") == 3


async def test_the_next_tick_after_a_flush_rebuilds_once_whichever_worker_runs_it(shared: Shared):
    service = shared.service
    other = RoutingService(
        shared.record,
        shared.ports.queues,
        shared.ports.presence,
        shared.ports.events,
        shared.ports.idempotency,
        SystemClock(),
        KeywordClassifier(),
        RoutingSettings(always_open=True, tier2_wait_limit_seconds=3600),
    )
    await service.set_presence("adv1", Presence.ONLINE)  # capacity 3
    for client_id in ("c000", "c001", "c002", "c003", "c004", "c010", "c020"):
        conversation = await service.start_conversation(client_id, Channel.WIDGET)
        await service.escalate_from_bot(conversation.id, EscalationReason.ASKED_HUMAN, A, "股票")
    assert not (await service.tick()).rebuilt and not (await other.tick()).rebuilt  # marked at start-up
    before = await shared.ports.queues.entries(A)
    await delete_prefix(REDIS_URL, shared.prefix)
    assert await shared.ports.presence.load("adv1") == 0
    assert (await other.tick()).rebuilt  # whichever worker ticks first rebuilds, and only it
    assert not (await service.tick()).rebuilt
    assert await shared.ports.queues.entries(A) == before
    assert await shared.ports.presence.load("adv1") == 3
    assert await shared.ports.presence.presence("adv1") == Presence.ONLINE  # one lifetime to heartbeat again
    held = await shared.record.conversations_in_states({ConversationState.WITH_AGENT})
    assert sum(c.assignee_id == "adv1" for c in held) == 3  # nothing was taken from the agent by the flush
