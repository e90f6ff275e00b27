"""The name the routing contract gives the schema helpers; they live in routing.sql_record."""

from __future__ import annotations

from routing.sql_record import (
    DEFAULT_DATABASE_URL,
    SqlRecord,
    create_engine_for,
    downgrade,
    migrate,
    migrate_async,
)

__all__ = ["DEFAULT_DATABASE_URL", "SqlRecord", "create_engine_for", "downgrade", "migrate", "migrate_async"]
