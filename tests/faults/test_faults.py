"""The fault suite: two API workers on a private PostgreSQL and Redis, with clients and agents talking, while
a worker is killed mid-turn and mid-claim, Rasa stops and comes back, Redis restarts and is flushed, and
PostgreSQL restarts. Each scenario prints and asserts: client messages lost 0, conversations stranded 0,
double assignments 0, replies doubled 0.

Everything runs on loopback, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from routing.memory import SystemClock
from routing.redis_ports import connect, redis_ports
from routing.sql_engine import migrate
from routing.sql_record import SqlRecord, create_engine_for
from tests.faults.servers import ROOT, ApiWorker, FaultyRasa, PrivatePostgres, PrivateRedis
from tests.faults.traffic import AGENTS, Traffic, settled
from tests.handoff_api.multiworker_harness import PASSWORD, _seed

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.postgres, pytest.mark.timeout(900)]

CLIENTS = [f"C1000{n}" for n in range(1, 9)]
ROUNDS = 6


@dataclass
class Stack:
    postgres: PrivatePostgres
    redis: PrivateRedis
    rasa: FaultyRasa
    workers: list[ApiWorker]
    key: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("faults")
    pg_folder = Path(tempfile.mkdtemp(prefix="tre-faults-pg-"))  # the postgres user must reach it: not under pytest's
    postgres, redis, rasa = PrivatePostgres(pg_folder), PrivateRedis(folder / "redis"), FaultyRasa()
    postgres.init()
    redis.start()
    rasa.start()
    workers: list[ApiWorker] = []
    try:
        migrate(postgres.url)
        key = asyncio.run(_seed(postgres.url))
        env = {
            "APP_MODE": "development",
            "SECRET_KEY": secrets.token_urlsafe(32),
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "ROUTING_ALWAYS_OPEN": "true",
            "ROUTING_PRESENCE_TTL_SECONDS": "30",
            "ROUTING_TIER2_WAIT_LIMIT_SECONDS": "3600",
            "ROUTING_CLAIM_LEASE_SECONDS": "3",
            "RASA_URL": rasa.url,
            "RASA_TIMEOUT_SECONDS": "2",
            "KB_INDEX_DIR": str(ROOT / "var" / "index"),
            "TICK_SECONDS": "1",
            "RATE_LIMIT_CLIENT": "10000/minute",
            "RATE_LIMIT_API_KEY": "10000/minute",
        }
        workers = [ApiWorker(name, env, folder) for name in ("worker-a", "worker-b")]
        for worker in workers:
            worker.start()
        yield Stack(postgres, redis, rasa, workers, key)
    finally:
        for worker in workers:
            worker.stop()
        rasa.stop()
        redis.stop()
        postgres.stop()
        shutil.rmtree(pg_folder, ignore_errors=True)


Fault = Callable[[Stack], Awaitable[None]]


async def run_scenario(stack: Stack, name: str, fault: Fault) -> None:
    """Clients and agents talk; `fault` strikes meanwhile; the four counts must be 0 once the engine settled."""
    traffic = Traffic([w.base for w in stack.workers], stack.key, PASSWORD)
    engine = create_engine_for(stack.postgres.url)
    ports = redis_ports(connect(stack.redis.url), SystemClock())
    stop = asyncio.Event()
    try:
        agents = [asyncio.create_task(traffic.agent(staff_id, stop)) for staff_id in AGENTS]
        clients = [asyncio.create_task(traffic.client(c, ROUNDS, pause=0.4)) for c in CLIENTS]
        await asyncio.sleep(1.0)
        started = time.monotonic()
        await fault(stack)
        await asyncio.wait_for(asyncio.gather(*clients), timeout=240)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*agents), timeout=120)
        counts = await settled(SqlRecord(engine), ports, traffic.ledger)
        ledger = traffic.ledger
        print(counts.line(name))
        print(
            f"  {len(ledger.acked)} messages accepted, {ledger.retries} retries, server errors "
            f"{dict(ledger.server_errors)}, fault handled in {time.monotonic() - started:.1f} s"
        )
        assert ledger.refused == [], ledger.refused
        assert 500 not in ledger.server_errors, "a failing store must be a 503 to retry, never a 500"
        assert counts.clean, counts.notes[:20]
    finally:
        stop.set()
        await traffic.close()
        await ports.close()
        await engine.dispose()


async def kill_a_worker_mid_turn(stack: Stack) -> None:
    stack.rasa.slow(0.8)  # turns are in flight when the worker dies
    await asyncio.sleep(1.0)
    victim = stack.workers[0]
    victim.kill()
    stack.rasa.slow(0.0)
    await asyncio.sleep(2.0)
    await asyncio.to_thread(victim.start)


async def kill_a_worker_mid_claim(stack: Stack) -> None:
    await asyncio.sleep(2.0)  # agents are claiming and resolving on both workers
    victim = stack.workers[1]
    victim.kill()
    await asyncio.sleep(2.0)
    await asyncio.to_thread(victim.start)


async def stop_rasa_for_a_while(stack: Stack) -> None:
    stack.rasa.stop()
    await asyncio.sleep(6.0)
    stack.rasa.start()


async def restart_redis(stack: Stack) -> None:
    stack.redis.stop()
    await asyncio.sleep(2.0)
    await asyncio.to_thread(stack.redis.start)


async def flush_redis(stack: Stack) -> None:
    await asyncio.sleep(1.0)
    stack.redis.flush()


async def restart_postgres(stack: Stack) -> None:
    await asyncio.to_thread(stack.postgres.restart)


@pytest.mark.parametrize(
    ("name", "fault"),
    [
        ("a worker killed mid-turn", kill_a_worker_mid_turn),
        ("a worker killed mid-claim", kill_a_worker_mid_claim),
        ("Rasa stopped and started", stop_rasa_for_a_while),
        ("Redis restarted", restart_redis),
        ("Redis flushed", flush_redis),
        ("PostgreSQL restarted", restart_postgres),
    ],
)
def test_nothing_is_lost_stranded_or_doubled(stack: Stack, name: str, fault: Fault) -> None:
    asyncio.run(run_scenario(stack, name, fault))
