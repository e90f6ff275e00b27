"""Helpers shared by tests that start real servers or share the real Redis and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from redis import Redis

POSTGRES_ADMIN_URL = os.environ.get("POSTGRES_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGRES_SERVER = "postgres@127.0.0.1:5432"


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
        yield f"postgresql+asyncpg://{POSTGRES_SERVER}/{name}"
    finally:
        asyncio.run(_postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
