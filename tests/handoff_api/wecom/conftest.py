"""Fixtures: the fake WeCom API, migrated SQLite / PostgreSQL databases, outboxes and inboxes, token caches.

Every SQL schema here comes from the Alembic migrations (one migrated template per session, copied
for each test), never from create_all, so the tests see the tables production gets.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.wecom.inbox import Inbox, MemoryInbox
from handoff_api.wecom.outbox import MemoryOutbox, Outbox
from handoff_api.wecom.store import SqlInbox, SqlOutbox
from handoff_api.wecom.token_cache import MemoryTokenCache, RedisTokenCache, TokenCache
from routing.sql_record import create_engine_for, migrate
from tests.handoff_api.wecom.fake_wecom import FakeWeCom
from tests.net import POSTGRES_ADMIN_URL, TEST_REDIS_URL, postgres_database_url


class TrackingRedisTokenCache(RedisTokenCache):
    """Remembers the keys it wrote, so a test deletes exactly its own keys afterwards."""

    def __init__(self, redis: Redis) -> None:
        super().__init__(redis)
        self.written: set[str] = set()

    async def set(self, key: str, value: str, ttl_seconds: int) -> None:
        self.written.add(key)
        await super().set(key, value, ttl_seconds)


@pytest.fixture
def fake_wecom() -> Iterator[FakeWeCom]:
    with FakeWeCom(corp_id=f"ww-fake-{uuid.uuid4().hex[:10]}") as fake:
        yield fake


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied by each test that needs a database."""
    path = tmp_path_factory.mktemp("wecom-schema") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


async def _postgres_admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _postgres_admin_blocking(sql: str) -> None:
    """_postgres_admin from synchronous code, even while an event loop runs (on its own thread)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _postgres_admin(sql)).result()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """The name of a PostgreSQL database migrated to head, the template of each test's database."""
    name = f"tre_wecom_template_{uuid.uuid4().hex[:10]}"
    _postgres_admin_blocking(f'CREATE DATABASE "{name}"')
    try:
        migrate(postgres_database_url(name))
        yield name
    finally:
        _postgres_admin_blocking(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def migrated_engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine over a fresh database at the latest migration, on SQLite and on PostgreSQL."""
    async for engine in _migrated_engine(request, tmp_path, str(request.param)):
        yield engine


async def _migrated_engine(request: pytest.FixtureRequest, tmp_path: Path, backend: str) -> AsyncIterator[AsyncEngine]:
    if backend == "sqlite":
        path = tmp_path / "wecom.db"
        shutil.copyfile(request.getfixturevalue("sqlite_schema"), path)
        engine = create_engine_for(f"sqlite+aiosqlite:///{path}")
        yield engine
        await engine.dispose()
        return
    template: str = request.getfixturevalue("postgres_schema")
    name = f"tre_wecom_{uuid.uuid4().hex[:10]}"
    await _postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    engine = create_engine_for(postgres_database_url(name))
    try:
        yield engine
    finally:
        await engine.dispose()
        await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no tables yet, on SQLite and on PostgreSQL (for migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"tre_wecom_{uuid.uuid4().hex[:10]}"
    await _postgres_admin(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_database_url(name)
    finally:
        await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


STORE_BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORE_BACKENDS)
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outbox]:
    if request.param == "memory":
        yield MemoryOutbox()
        return
    async for engine in _migrated_engine(request, tmp_path, str(request.param)):
        yield SqlOutbox(engine)


@pytest.fixture(params=STORE_BACKENDS)
async def inbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Inbox]:
    if request.param == "memory":
        yield MemoryInbox()
        return
    async for engine in _migrated_engine(request, tmp_path, str(request.param)):
        yield SqlInbox(engine)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def token_cache(request: pytest.FixtureRequest) -> AsyncIterator[TokenCache]:
    if request.param == "memory":
        yield MemoryTokenCache()
        return
    redis = Redis.from_url(TEST_REDIS_URL)
    cache = TrackingRedisTokenCache(redis)
    yield cache
    if cache.written:
        await redis.delete(*cache.written)
    await redis.aclose()
