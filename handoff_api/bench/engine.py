"""The engine under test: Rasa and the API on free loopback ports, a fresh database, stopped afterwards.

Built from the launcher's own pieces (`wire_rasa`, `children`), so the harness measures what `make run`
starts. The database is migrated and seeded (the demo directory plus the benchmark's clients) before any
server starts. `--cluster` runs several API workers and Rasa replicas on Redis and a temporary
PostgreSQL database; keys and the database are removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from pydantic import SecretStr
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from handoff_api.bench.cpu import read_cpu
from handoff_api.bench.processes import Spawned, Supervisor
from handoff_api.bench.workload import bench_clients_csv
from handoff_api.client_tokens import issue_client_token
from handoff_api.launcher import ROOT, RasaWiring, api_server_argv, children, wire_rasa
from handoff_api.settings import Settings
from routing.directory_import import import_clients, seed_demo
from routing.sql_record import SqlRecord, create_engine_for, migrate_async

READY_SECONDS = 300.0
INDEX_DIR = ROOT / "var" / "index"


@dataclass(frozen=True)
class EngineOptions:
    """What to start: API workers and Rasa replicas, and the shared backends for a cluster."""

    api_workers: int = 1
    rasa_replicas: int = 1
    redis_url: str | None = None
    postgres_admin_url: str | None = None
    clients: int = 1200

    @property
    def cluster(self) -> bool:
        """Several processes: needs Redis and PostgreSQL."""
        return self.api_workers > 1 or self.rasa_replicas > 1


@dataclass
class Engine:
    """A running engine: where it listens, how to sign client tokens, and its processes."""

    settings: Settings
    wiring: RasaWiring
    env: dict[str, str]
    api: Spawned
    rasa: list[Spawned]
    workdir: Path
    extra: list[Spawned] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.settings.api_port}"

    @property
    def ws_base(self) -> str:
        """The API's WebSocket base URL."""
        return f"ws://127.0.0.1:{self.settings.api_port}"

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa replica's base URL."""
        return self.wiring.urls.split(",")

    def token(self, client_id: str) -> str:
        """A widget token for a directory client."""
        return issue_client_token(self.settings, client_id, datetime.now(UTC))

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of the API (with its workers) and of every Rasa replica."""
        return read_cpu({"API": [self.api.pid], "Rasa": [replica.pid for replica in self.rasa]})


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def prepare_database(url: str, clients: int) -> None:
    """Migrate, seed the demo directory and add `clients` benchmark clients."""
    await migrate_async(url)
    engine = create_engine_for(url)
    try:
        record = SqlRecord(engine)
        await seed_demo(record)
        await import_clients(record, bench_clients_csv(clients), actor="bench", source="bench-clients")
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def temporary_postgres(admin_url: str) -> AsyncIterator[str]:
    """A new PostgreSQL database (its asyncpg URL), dropped afterwards."""
    admin = make_url(admin_url).set(drivername="postgresql")
    name = f"tre_bench_{uuid.uuid4().hex[:10]}"
    plain = admin.render_as_string(hide_password=False)
    connection = await asyncpg.connect(plain)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        connection = await asyncpg.connect(plain)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()


async def drop_keys(redis_url: str, prefix: str) -> None:
    """Delete every Redis key under the run's prefix."""
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@contextlib.contextmanager
def environment(name: str, value: str) -> Iterator[None]:
    """Set one variable of this process for a moment (wire_rasa reads the Redis key prefix from it)."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def engine_environment(settings: Settings, prefix: str) -> dict[str, str]:
    """What every engine process gets on top of the launcher's environment."""
    env = {
        "APP_MODE": "development",
        "SECRET_KEY": settings.secret_key.get_secret_value() if settings.secret_key else "",
        "DATABASE_URL": settings.database_url,
        "KB_INDEX_DIR": str(settings.kb_index_dir),
        "API_HOST": settings.api_host,
        "API_PORT": str(settings.api_port),
        "ROUTING_ALWAYS_OPEN": "true",
        "ROUTING_REDIS_KEY_PREFIX": prefix,
        "SEED_DEMO_DIRECTORY": "false",
        "RASA_TELEMETRY_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
    }
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


async def wait_ready(engine: Engine, seconds: float = READY_SECONDS) -> None:
    """Until the API's /health/live and every Rasa /status answer 200; RuntimeError if one dies first."""
    urls = [f"{engine.base_url}/health/live"]
    urls += [f"{url}/status?token={engine.wiring.auth_token}" for url in engine.rasa_urls]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with httpx.AsyncClient(timeout=3.0) as http:
        while loop.time() < deadline:
            for child in [engine.api, *engine.rasa]:
                if not child.alive():
                    raise RuntimeError(f"{child.name} exited with {child.process.returncode}:\n{child.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                answers = [await http.get(url) for url in urls]
                if all(answer.status_code == 200 for answer in answers):
                    return
            await asyncio.sleep(1.0)
    raise RuntimeError(f"the engine was not ready within {seconds:.0f}s")


@contextlib.asynccontextmanager
async def started_engine(options: EngineOptions, workdir: Path, supervisor: Supervisor) -> AsyncIterator[Engine]:
    """Start the engine, wait until every server answers, yield it, and stop and clean up on every way out."""
    prefix = f"tre-bench-{uuid.uuid4().hex[:8]}:"
    async with contextlib.AsyncExitStack() as stack:
        if options.postgres_admin_url:
            database_url = await stack.enter_async_context(temporary_postgres(options.postgres_admin_url))
        else:
            database_url = f"sqlite+aiosqlite:///{workdir / 'engine.db'}"
        if options.redis_url:
            stack.push_async_callback(drop_keys, options.redis_url, prefix)
        await prepare_database(database_url, options.clients)
        settings = Settings(
            app_mode="development",
            secret_key=SecretStr(secrets.token_urlsafe(48)),
            database_url=database_url,
            redis_url=options.redis_url,
            api_host="127.0.0.1",
            api_port=free_port(),
            kb_index_dir=INDEX_DIR,
        )
        with environment("ROUTING_REDIS_KEY_PREFIX", prefix):
            wiring = wire_rasa(settings, [free_port() for _ in range(options.rasa_replicas)], workdir / "rasa")
        extra_env = engine_environment(settings, prefix)
        spawned = []
        for child in children(settings, wiring, options.api_workers):
            env = {**child.env, **extra_env}
            if not options.redis_url:
                env.pop("REDIS_URL", None)
            spawned.append(supervisor.spawn(child.name, child.argv, env, ROOT, workdir / f"{child.name}.log"))
            stack.callback(supervisor.stop, spawned[-1])
        api_env = {**os.environ, **extra_env, **wiring.api_environment()}
        engine = Engine(settings, wiring, api_env, spawned[0], spawned[1:], workdir)
        await wait_ready(engine)
        yield engine


def spawn_api(engine: Engine, supervisor: Supervisor, name: str) -> tuple[Spawned, int]:
    """One more single-process API on the engine's database and Rasa, on its own port."""
    port = free_port()
    env = {**engine.env, "API_PORT": str(port)}
    if not engine.settings.redis_url:
        env.pop("REDIS_URL", None)
    child = supervisor.spawn(name, api_server_argv("127.0.0.1", port), env, ROOT, engine.workdir / f"{name}.log")
    return child, port
