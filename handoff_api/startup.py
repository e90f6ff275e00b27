"""Start-up work: what several API workers must not do at the same time (migrations and demo seeding), and
setting the start-up heap aside from the garbage collector once a process is ready."""

from __future__ import annotations

import asyncio
import fcntl
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import make_url, text

from routing.sql_record import create_engine_for, ensure_sqlite_folder, is_sqlite

ADVISORY_LOCK_KEY = 727_001  # any constant shared by every worker of this application


@asynccontextmanager
async def startup_lock(database_url: str) -> AsyncIterator[None]:
    """Hold an exclusive lock for the database: a PostgreSQL advisory lock, or a lock file beside SQLite."""
    if is_sqlite(database_url):
        async with _file_lock(database_url):
            yield
        return
    engine = create_engine_for(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
    finally:
        await engine.dispose()


@asynccontextmanager
async def _file_lock(database_url: str) -> AsyncIterator[None]:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        yield
        return
    ensure_sqlite_folder(database_url)
    handle = await asyncio.to_thread(Path(f"{database}.startup.lock").open, "a+")
    with handle:
        await asyncio.to_thread(fcntl.flock, handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def freeze_startup_heap() -> None:
    """Move every object alive now out of the garbage collector's reach (`gc.freeze`), once start-up is done.

    A ready API holds about 200,000 long-lived objects (the framework, the routes, the index's metadata), and each
    full collection walked them all: about 120 ms in which the process answered nothing, several times a minute
    under load, so every turn in flight waited. Frozen objects are still freed when nothing refers to them; only
    the cycle search skips them, and it now walks what was made since.

    Once per process: a process that starts a second app (the tests) does not freeze the first one's leftovers,
    whose cycles the collector could then never free.
    """
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
