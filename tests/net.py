"""Helpers shared by tests that start real servers or share the real Redis and PostgreSQL.

The test backends come from two settings, the only ones the suite reads:
- TEST_REDIS_URL (default redis://127.0.0.1:6379/0): tests write under their own key prefixes;
- TEST_POSTGRES_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres): a database on the
  server where tests may create and drop their own databases.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from redis import Redis
from sqlalchemy.engine import make_url

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TEST_POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")

_POSTGRES = make_url(TEST_POSTGRES_URL)
POSTGRES_HOST = _POSTGRES.host or "127.0.0.1"
POSTGRES_PORT = _POSTGRES.port or 5432
POSTGRES_USER = _POSTGRES.username or "postgres"
POSTGRES_ADMIN_URL = _POSTGRES.set(drivername="postgresql").render_as_string(hide_password=False)


def postgres_database_url(database: str) -> str:
    """The asyncpg URL of another database on the test server."""
    return _POSTGRES.set(drivername="postgresql+asyncpg", database=database).render_as_string(hide_password=False)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def drop_redis_keys(url: str, prefix: str) -> None:
    """Delete every key a test wrote under its own prefix."""
    redis = Redis.from_url(url)
    try:
        keys = list(redis.scan_iter(match=f"{prefix}*"))
        if keys:
            redis.delete(*keys)
    finally:
        redis.close()


async def _postgres_admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@contextmanager
def temporary_postgres_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (its asyncpg URL), dropped afterwards; call it outside an event loop."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_postgres_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_database_url(name)
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
