"""A migrated database URL per backend for contract tests that compare SQL with the in-memory doubles."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.routing.conftest import PostgresDatabases, postgres_url

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
