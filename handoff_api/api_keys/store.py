"""Where API keys are kept: the `api_keys` table of the record (SQLite or PostgreSQL), verifiers only."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.api_keys.keys import ApiKey, InvalidKeyRequest, IssuedKey, Scope
from routing.sql_tables import api_keys


class KeyNameTaken(InvalidKeyRequest):
    """An active key already has this name."""


class ApiKeyStore(Protocol):
    """Stored keys: add, find by public id, list, revoke by name, note use."""

    async def add(self, issued: IssuedKey) -> None:
        """Store a new key's record and verifier; KeyNameTaken if an active key has its name."""
        ...

    async def find(self, key_id: str) -> tuple[ApiKey, str] | None:
        """The key with this public id and its verifier, or None."""
        ...

    async def list_keys(self, include_revoked: bool = False) -> list[ApiKey]:
        """Keys by name (active ones only unless `include_revoked`), oldest first within a name."""
        ...

    async def revoke(self, name: str, at: datetime) -> ApiKey | None:
        """Revoke the active key named `name`; the revoked key, or None if there is none."""
        ...

    async def touch(self, key_id: str, at: datetime) -> None:
        """Record that the key was used at `at`."""
        ...


class SqlApiKeyStore:
    """ApiKeyStore on the record's database (the caller disposes the engine)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, issued: IssuedKey) -> None:
        key = issued.key
        row = {
            "id": key.id,
            "name": key.name,
            "scopes": " ".join(sorted(scope.value for scope in key.scopes)),
            "secret_hash": issued.secret_hash,
            "created_at": key.created_at,
        }
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(api_keys).values(row))
        except IntegrityError as exc:
            raise KeyNameTaken(
                f"an active key named {key.name!r} exists; revoke it first or pick another name"
            ) from exc

    async def find(self, key_id: str) -> tuple[ApiKey, str] | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        return (_key_of(row), str(row.secret_hash)) if row else None

    async def list_keys(self, include_revoked: bool = False) -> list[ApiKey]:
        statement = select(api_keys).order_by(api_keys.c.name, api_keys.c.created_at, api_keys.c.id)
        if not include_revoked:
            statement = statement.where(api_keys.c.revoked_at.is_(None))
        async with self._engine.connect() as conn:
            return [_key_of(row) for row in (await conn.execute(statement)).all()]

    async def revoke(self, name: str, at: datetime) -> ApiKey | None:
        active = (api_keys.c.name == name) & api_keys.c.revoked_at.is_(None)
        async with self._engine.begin() as conn:
            row = (await conn.execute(update(api_keys).where(active).values(revoked_at=at).returning(api_keys))).first()
        return _key_of(row) if row else None

    async def touch(self, key_id: str, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at))


def _key_of(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        scopes=frozenset(Scope(value) for value in str(row.scopes).split()),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
