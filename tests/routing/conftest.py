"""Shared database fixtures: every SQL test runs against SQLite and PostgreSQL alike.

PostgreSQL runs for real (127.0.0.1:5432, user postgres): the session creates its own databases
named tre_test_<random>_*, one migrated template plus one copy per test, and drops them all at the end.

- `backend`: "sqlite" or "postgres" (parametrises every test that uses the fixtures below);
- `empty_database_url`: a fresh database with no tables;
- `migrated_database_url`: a fresh database at the latest migration;
- `sql_record`: a SqlRecord over `migrated_database_url`.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest

from routing.sql_engine import create_engine_for, migrate
from routing.sql_record import SqlRecord
from tests.net import POSTGRES_ADMIN_URL, postgres_database_url

T = TypeVar("T")

BACKENDS = ["sqlite", "postgres"]


def run_in_thread(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on its own loop in a worker thread (safe beside the test loop)."""
    results: list[T] = []
    errors: list[BaseException] = []

    def work() -> None:
        async def main() -> T:
            return await make()

        try:
            results.append(asyncio.run(main()))
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return results[0]


def postgres_url(database: str) -> str:
    return postgres_database_url(database)


async def _admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


class PostgresDatabases:
    """Creates and drops this session's PostgreSQL databases."""

    def __init__(self) -> None:
        self.prefix = f"tre_test_{uuid.uuid4().hex[:10]}"
        self.template = f"{self.prefix}_template"
        self.created: list[str] = []
        self._count = 0

    def create(self, template: str | None = None) -> str:
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        source = f" TEMPLATE {template}" if template else ""
        run_in_thread(lambda: _admin(f"CREATE DATABASE {name}{source}"))
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        run_in_thread(lambda: _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        if name in self.created:
            self.created.remove(name)

    def create_template(self) -> None:
        run_in_thread(lambda: _admin(f"CREATE DATABASE {self.template}"))
        self.created.append(self.template)
        migrate(postgres_url(self.template))

    def drop_all(self) -> None:
        for name in list(self.created):
            self.drop(name)


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    databases.create_template()
    try:
        yield databases
    finally:
        databases.drop_all()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    migrate(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = databases.create()
    try:
        yield postgres_url(name)
    finally:
        databases.drop(name)


@pytest.fixture
def migrated_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "engine.db"
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{template}{suffix}")
            if source.exists():
                shutil.copyfile(source, Path(f"{path}{suffix}"))
        yield f"sqlite+aiosqlite:///{path}"
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = databases.create(template=databases.template)
    try:
        yield postgres_url(name)
    finally:
        databases.drop(name)


@pytest.fixture
async def sql_record(migrated_database_url: str) -> AsyncIterator[SqlRecord]:
    engine = create_engine_for(migrated_database_url)
    try:
        yield SqlRecord(engine)
    finally:
        await engine.dispose()
