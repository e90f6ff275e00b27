"""Migration 0004 (the inbox's unique de-duplication key) over rows stored before it, up and down."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from routing.sql_record import create_engine_for, downgrade, migrate_async

ROW = (
    "INSERT INTO wecom_inbox (kind, payload, status, attempts, next_attempt_at, created_at) "
    "VALUES ('callback', '{\"xml\": \"<xml/>\"}', 'sent', 1, :at, :at)"
)
AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


async def inbox_columns_and_rows(url: str) -> tuple[set[str], int]:
    engine = create_engine_for(url)
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(lambda sync: inspect(sync).get_columns("wecom_inbox"))
            rows = (await connection.execute(text("SELECT COUNT(*) FROM wecom_inbox"))).scalar_one()
    finally:
        await engine.dispose()
    return {column["name"] for column in columns}, int(rows)


async def test_rows_from_before_get_legacy_keys_and_the_key_is_unique(empty_database_url: str) -> None:
    await migrate_async(empty_database_url, "0003")
    engine = create_engine_for(empty_database_url)
    try:
        async with engine.begin() as connection:
            for _ in range(2):
                await connection.execute(text(ROW), {"at": AT})
        await migrate_async(empty_database_url, "0004")
        async with engine.connect() as connection:
            keys = (await connection.execute(text("SELECT dedup_key FROM wecom_inbox ORDER BY id"))).scalars().all()
        assert keys == ["legacy:1", "legacy:2"]
        with pytest.raises(IntegrityError):
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE wecom_inbox SET dedup_key = 'legacy:1' WHERE id = 2"))
    finally:
        await engine.dispose()

    downgrade(empty_database_url, "0003")
    columns, rows = await inbox_columns_and_rows(empty_database_url)
    assert "dedup_key" not in columns and rows == 2  # the rows stay
    await migrate_async(empty_database_url)
    columns, rows = await inbox_columns_and_rows(empty_database_url)
    assert "dedup_key" in columns and rows == 2
