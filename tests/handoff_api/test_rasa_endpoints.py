"""Rasa's endpoints file from the engine's settings."""

from __future__ import annotations

import sqlite3
import stat
from contextlib import closing
from pathlib import Path

import yaml

from handoff_api.rasa_endpoints import endpoints, lock_store, prepare_sqlite_tracker, tracker_store, write_endpoints


def test_sqlite_keeps_the_tracker_in_a_file_under_var(tmp_path: Path) -> None:
    store = tracker_store("sqlite+aiosqlite:///var/engine.db", tmp_path)
    assert store == {"type": "SQL", "dialect": "sqlite", "db": str(tmp_path / "tracker.db")}


def test_postgresql_shares_the_engine_database() -> None:
    store = tracker_store("postgresql+asyncpg://tre:s3cret@db.internal:6432/engine", Path("var/rasa"))
    assert store == {
        "type": "SQL",
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 6432,
        "db": "engine",
        "username": "tre",
        "password": "s3cret",
    }


def test_the_lock_store_is_redis_only_with_redis() -> None:
    assert lock_store(None, "tre:") is None
    assert lock_store("redis://:pw@cache:6380/2", "tre:") == {
        "type": "redis",
        "url": "cache",
        "port": 6380,
        "db": 2,
        "key_prefix": "trerasalock",  # Rasa's keys: trerasalock:lock:<conversation>
        "password": "pw",
    }


def test_the_lock_prefix_is_one_rasa_accepts_and_keeps_deployments_apart() -> None:
    first, second = (lock_store("redis://127.0.0.1:6379/0", prefix) for prefix in ("tre:", "tre-staging:"))
    assert first is not None and second is not None
    assert str(first["key_prefix"]).isalnum() and str(second["key_prefix"]).isalnum()  # else Rasa uses "lock:"
    assert first["key_prefix"] != second["key_prefix"]


def test_the_file_is_written_for_the_owner_only(tmp_path: Path) -> None:
    document = endpoints(
        "http://127.0.0.1:8000/webhook",
        "tok",
        database_url="sqlite+aiosqlite:///var/engine.db",
        redis_url="redis://127.0.0.1:6379/0",
        key_prefix="tre:",
        directory=tmp_path,
    )
    path = write_endpoints(document, tmp_path / "endpoints.yml")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert loaded["action_endpoint"] == {"url": "http://127.0.0.1:8000/webhook", "token": "tok"}
    assert loaded["tracker_store"]["type"] == "SQL" and loaded["lock_store"]["type"] == "redis"


def test_a_sqlite_tracker_file_is_put_in_wal_mode_before_rasa_opens_it(tmp_path: Path) -> None:
    store = tracker_store("sqlite+aiosqlite:///var/engine.db", tmp_path / "rasa")
    prepare_sqlite_tracker(store)
    with closing(sqlite3.connect(store["db"])) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    prepare_sqlite_tracker({"type": "SQL", "dialect": "postgresql", "db": "postgres"})  # nothing to prepare
