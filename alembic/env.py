"""Alembic environment of the system of record (async engine).

The database URL is, in order: the `database_url` attribute set by routing.sql_engine.migrate(url),
the DATABASE_URL environment variable, or the embedded default sqlite+aiosqlite:///var/engine.db
(whose var/ folder is created when missing).
"""

from __future__ import annotations

import asyncio
import logging.config
import os

from sqlalchemy import Connection

import handoff_api.learning.tables
import handoff_api.wecom.store  # noqa: F401 - defines the WeCom channel's tables on the shared MetaData
from alembic import context
from routing.sql_engine import DEFAULT_DATABASE_URL, create_engine_for
from routing.sql_tables import metadata

config = context.config
if config.config_file_name is not None:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = metadata
"""The whole schema: routing's system of record, plus the WeCom channel's tables defined on the same MetaData."""


def database_url() -> str:
    """Which database this run migrates."""
    explicit = config.attributes.get("database_url")
    if explicit:
        return str(explicit)
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def run_migrations_offline() -> None:
    """Emit the SQL to stdout instead of running it."""
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online() -> None:
    """Run the migrations over an async engine."""
    engine = create_engine_for(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_with)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
