"""A migrated record database for the key store, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from handoff_api.api_keys import ApiKeyRegistry, SqlApiKeyStore
from routing.sql_engine import create_engine_for, migrate
from tests.net import temporary_postgres_database


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"
        migrate(url)
        yield url
        return
    with temporary_postgres_database("tre_keys") as url:
        migrate(url)
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlApiKeyStore]:
    engine = create_engine_for(database_url)
    try:
        yield SqlApiKeyStore(engine)
    finally:
        await engine.dispose()


@pytest.fixture
def registry(store: SqlApiKeyStore) -> ApiKeyRegistry:
    return ApiKeyRegistry(store)
