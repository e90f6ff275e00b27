"""The Rasa server's endpoints file, written from the engine's settings at start-up.

- action endpoint: the API's `/webhook`, with the shared action token (Rasa sends it as `?token=`);
- tracker store: SQL, so dialogue state survives a Rasa restart and replicas share it (SQLite file
  under var/rasa by default; with DATABASE_URL on PostgreSQL, the same PostgreSQL database);
- lock store: Redis when REDIS_URL is set, so replicas never handle one conversation at once.

The file carries secrets, so it is written with owner-only permissions under var/.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

DEFAULT_DIRECTORY = Path("var/rasa")
SQLITE_TRACKER_FILE = "tracker.db"
LOCK_KEY_SUFFIX = "rasalock"
"""Rasa accepts only an alphanumeric lock-key prefix (any other it ignores, falling back to a shared 'lock:')."""


def tracker_store(database_url: str, directory: Path) -> dict[str, Any]:
    """Rasa's SQL tracker store beside the engine's own database."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return {"type": "SQL", "dialect": "sqlite", "db": str(directory / SQLITE_TRACKER_FILE)}
    store: dict[str, Any] = {
        "type": "SQL",
        "dialect": "postgresql",
        "url": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "db": url.database or "postgres",
        "username": url.username or "postgres",
    }
    if url.password:
        store["password"] = url.password
    return store


def prepare_sqlite_tracker(store: dict[str, Any]) -> None:
    """Put a SQLite tracker store's file in WAL mode before Rasa opens it (the mode stays with the file): Rasa's
    own engine would otherwise commit each turn through a rollback journal, with several fsyncs."""
    if store.get("dialect") != "sqlite":
        return
    path = Path(store["db"])
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def lock_store(redis_url: str | None, key_prefix: str) -> dict[str, Any] | None:
    """Rasa's Redis lock store on the engine's Redis (None: Rasa's in-memory locks)."""
    if not redis_url:
        return None
    url = make_url(redis_url)
    store: dict[str, Any] = {
        "type": "redis",
        "url": url.host or "127.0.0.1",
        "port": url.port or 6379,
        "db": int(url.database or 0),
        "key_prefix": "".join(ch for ch in f"{key_prefix}{LOCK_KEY_SUFFIX}" if ch.isalnum()),
    }
    if url.password:
        store["password"] = url.password
    if url.get_backend_name() == "rediss":
        store["use_ssl"] = True
    return store


def endpoints(
    action_url: str,
    action_token: str,
    *,
    database_url: str,
    redis_url: str | None,
    key_prefix: str,
    directory: Path = DEFAULT_DIRECTORY,
) -> dict[str, Any]:
    """The whole endpoints document."""
    document: dict[str, Any] = {
        "action_endpoint": {"url": action_url, "token": action_token},
        "tracker_store": tracker_store(database_url, directory),
    }
    locks = lock_store(redis_url, key_prefix)
    if locks is not None:
        document["lock_store"] = locks
    return document


def write_endpoints(document: dict[str, Any], path: Path) -> Path:
    """Write the document (owner read/write only) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle, allow_unicode=True, sort_keys=False)
    path.chmod(0o600)
    return path
