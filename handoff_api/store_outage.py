"""Whether an exception means a backing store (PostgreSQL, SQLite, Redis) is unreachable for a moment.

Such a failure is answered with 503 and Retry-After, not 500: nothing already stored is lost, and the caller
sends again (with the same message id, so it is stored once).
"""

from __future__ import annotations

import sqlite3

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError

OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    TimeoutError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
)
CHAIN_DEPTH = 6
"""How far along .orig / __cause__ / __context__ to look (SQLAlchemy wraps the driver's error in .orig)."""


def is_store_outage(error: BaseException) -> bool:
    """A lost or refused connection to a store, or a store shutting down, anywhere in the error's chain."""
    current: BaseException | None = error
    for _ in range(CHAIN_DEPTH):
        if current is None:
            return False
        if isinstance(current, OUTAGE_TYPES):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True  # a writer held the database past the busy timeout
        wrapped = current.orig if isinstance(current, DBAPIError) else None  # the driver's own error
        current = wrapped or current.__cause__ or current.__context__
    return False
