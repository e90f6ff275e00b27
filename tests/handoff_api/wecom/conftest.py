"""Fixtures: the fake WeCom API, outboxes on memory / SQLite / PostgreSQL (outbox and inbox tables), token caches."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from handoff_api.wecom.outbox import MemoryOutbox, Outbox, SqlOutbox, wecom_inbox, wecom_metadata, wecom_outbox
from handoff_api.wecom.token_cache import MemoryTokenCache, RedisTokenCache, TokenCache
from tests.handoff_api.wecom.fake_wecom import FakeWeCom
from tests.net import TEST_POSTGRES_URL, TEST_REDIS_URL

POSTGRES_URL = TEST_POSTGRES_URL
REDIS_URL = TEST_REDIS_URL


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


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        "sqlite-inbox",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("postgres-inbox", marks=pytest.mark.postgres),
    ]
)
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outbox]:
    if request.param == "memory":
        yield MemoryOutbox()
        return
    table = wecom_inbox if request.param.endswith("-inbox") else wecom_outbox
    if request.param.startswith("sqlite"):
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'outbox.db'}")
        async with engine.begin() as connection:
            await connection.run_sync(wecom_metadata.create_all)
        yield SqlOutbox(engine, table)
        await engine.dispose()
        return
    schema = f"wecom_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_async_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with engine.begin() as connection:
            await connection.run_sync(wecom_metadata.create_all)
        yield SqlOutbox(engine, table)
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def token_cache(request: pytest.FixtureRequest) -> AsyncIterator[TokenCache]:
    if request.param == "memory":
        yield MemoryTokenCache()
        return
    redis = Redis.from_url(REDIS_URL)
    cache = TrackingRedisTokenCache(redis)
    yield cache
    if cache.written:
        await redis.delete(*cache.written)
    await redis.aclose()
