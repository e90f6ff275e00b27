"""A migrated database URL per backend for contract tests that compare SQL with the in-memory doubles."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from routing.records import Record
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord
from tests.routing.conftest import PostgresDatabases, postgres_url
from tests.routing.fakes import FakeRecord

BACKENDS = ["memory", "sqlite", "postgres"]


@contextmanager
def migrated_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the latest migration on "sqlite" or "postgres" (dropped afterwards)."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "contract.db"
        for suffix in ("", "-wal", "-shm"):
            if Path(f"{template}{suffix}").exists():
                shutil.copyfile(f"{template}{suffix}", f"{path}{suffix}")
        yield f"sqlite+aiosqlite:///{path}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = databases.create(template=databases.template)
    try:
        yield postgres_url(name)
    finally:
        databases.drop(name)


@asynccontextmanager
async def record_on(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> AsyncIterator[Record]:
    """The record on `backend`: the in-memory double, or SqlRecord on a fresh migrated database."""
    if backend == "memory":
        yield FakeRecord()
        return
    with migrated_url(request, backend, tmp_path) as url:
        engine = create_engine_for(url)
        try:
            yield SqlRecord(engine)
        finally:
            await engine.dispose()
