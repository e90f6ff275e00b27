"""Alembic migrations on SQLite and PostgreSQL: upgrade from empty, match the tables, downgrade."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect

from routing.sql_engine import create_engine_for, downgrade, migrate, migrate_async
from routing.sql_tables import metadata

REPO = Path(__file__).resolve().parents[2]
RECORD_TABLES = {
    "staff",
    "clients",
    "conversations",
    "messages",
    "tickets",
    "transitions",
    "feedback",
    "audit_log",
    "audit_chain_head",
}


def with_channel_tables() -> MetaData:
    """The one MetaData, with the WeCom channel's tables the same migrations create (as alembic/env.py loads them)."""
    import handoff_api.wecom.store  # noqa: F401 - defines its tables on routing.sql_tables.metadata

    return metadata


async def table_names(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def schema_differences(url: str) -> list[Any]:
    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, with_channel_tables()))

    engine = create_engine_for(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_matches_the_tables_and_downgrades(empty_database_url: str) -> None:
    assert await table_names(empty_database_url) == set()
    await migrate_async(empty_database_url)
    assert RECORD_TABLES | {
        "wecom_outbox",
        "wecom_inbox",
        "wecom_conversations",
        "wecom_state",
        "alembic_version",
    } <= await table_names(empty_database_url)
    assert await schema_differences(empty_database_url) == []

    await migrate_async(empty_database_url)  # idempotent at head
    downgrade(empty_database_url)  # callable from inside a running event loop too
    assert await table_names(empty_database_url) == {"alembic_version"}

    migrate(empty_database_url)
    assert await schema_differences(empty_database_url) == []


def test_alembic_cli_defaults_to_sqlite_under_var(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    alembic = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini")]
    subprocess.run([*alembic, "upgrade", "head"], cwd=tmp_path, env=environment, check=True, capture_output=True)
    assert (tmp_path / "var" / "engine.db").is_file()
    current = subprocess.run(
        [*alembic, "current"], cwd=tmp_path, env=environment, check=True, capture_output=True, text=True
    )
    assert "0007 (head)" in current.stdout


def test_alembic_cli_reads_database_url(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "record.db"
    environment = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{target}")
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), "upgrade", "head"],
        cwd=tmp_path,
        env=environment,
        check=True,
        capture_output=True,
    )
    assert target.is_file()
    assert not (tmp_path / "var").exists()
