"""The SQL engine and schema of the system of record: engines set up per backend, and Alembic migrations.

- `create_engine_for(url)` builds an async engine with the per-backend settings the record relies on
  (SQLite: foreign keys on, WAL, busy timeout and BEGIN IMMEDIATE for writes, which serialises
  writers the way PostgreSQL's row locks do; one connection per process, see SQLITE_POOL);
- `migrate(url)` / `migrate_async(url)` upgrade the schema to the latest Alembic revision,
  `downgrade(url)` takes it back.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection as SyncConnection
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/engine.db"
"""The embedded default: a SQLite file under var/ (relative to the working directory)."""

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"
SQLITE_BEGIN_OPTION = "sqlite_begin"
"""Execution option naming how SQLite begins a transaction (IMMEDIATE by default, DEFERRED for readers)."""


SQLITE_POOL: dict[str, Any] = {"pool_size": 1, "max_overflow": 0}
"""A process talks to a SQLite file over one connection: its transactions queue for it in order (the pool's
queue is first come, first served). SQLite lets one writer in at a time anyway, and a second connection of the
same process waiting for the write lock does not queue: SQLite's busy handler retries it after sleeps growing
to 100 ms, while newer transactions may slip in first. Under load that made some turns wait seconds while most
waited milliseconds. Another process on the same file (a second API worker, the command line) still waits
through the busy timeout."""


def is_sqlite(url: str) -> bool:
    """Whether the URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def is_sqlite_file(url: str) -> bool:
    """Whether the URL points at a SQLite database in a file (not in memory)."""
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a file-based SQLite database (var/ for the default) if missing."""
    database = make_url(url).database
    if not is_sqlite_file(url) or database is None or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine_for(url: str, **engine_options: Any) -> AsyncEngine:
    """An async engine for `sqlite+aiosqlite://` or `postgresql+asyncpg://` URLs, set up for the record."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True, **engine_options)
    ensure_sqlite_folder(url)
    engine_options.setdefault("connect_args", {"timeout": 30})
    if is_sqlite_file(url):
        engine_options = SQLITE_POOL | engine_options
    engine = create_async_engine(url, **engine_options)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the driver, emit BEGIN, so writers take the lock before they read."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: never corrupt; one fsync per checkpoint, not commit
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: SyncConnection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (Alembic), blocking until done.

    Alembic's async env runs its own event loop, so it runs in a separate thread: this works from
    plain code and from inside a running event loop alike (use `migrate_async` there to not block it).
    """
    _run_alembic_in_thread("upgrade", url, revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at `url` to `revision` (default: drop everything)."""
    _run_alembic_in_thread("downgrade", url, revision)


async def migrate_async(url: str, revision: str = "head") -> None:
    """`migrate` without blocking the running event loop."""
    await asyncio.to_thread(migrate, url, revision)


def _run_alembic_in_thread(direction: str, url: str, revision: str) -> None:
    from alembic.config import Config

    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["database_url"] = url
    errors: list[BaseException] = []

    def run() -> None:
        try:
            if direction == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    worker = threading.Thread(target=run, name=f"alembic-{direction}")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
