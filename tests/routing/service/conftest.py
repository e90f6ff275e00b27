"""The service tests' world: the routing service over the fake record and over SQLite (PostgreSQL is covered by
the record's own tests), with memory stores."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from routing.sql_record import SqlRecord, create_engine_for
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import World, build_world


@pytest.fixture
def backend() -> str:
    """Service tests use SQLite for the SQL record (PostgreSQL is covered by the record's own tests)."""
    return "sqlite"


@pytest.fixture(params=["fake", "sql"])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    if request.param == "fake":
        yield await build_world(FakeRecord())
        return
    engine = create_engine_for(request.getfixturevalue("migrated_database_url"))
    try:
        yield await build_world(SqlRecord(engine))
    finally:
        await engine.dispose()
