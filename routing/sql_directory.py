"""The directory part of the SQL record: clients, staff and their sign-in data (mixed into SqlRecord).

Directory imports upsert by id in chunks that stay below the drivers' bound-parameter limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from routing import sql_rows, sql_staff_access
from routing import sql_tables as t
from routing.errors import NotFound
from routing.models import Client, Role, Staff

UPSERT_PARAMETERS = 10_000
"""Bound parameters per upsert chunk: well below asyncpg's 32,767 and SQLite's 32,766."""


class SqlDirectory:
    """Record methods for the directory (a base of SqlRecord, which sets `_engine` and `_reader`)."""

    _engine: AsyncEngine
    _reader: AsyncEngine

    async def _fetch_all(self, statement: Any) -> Sequence[Row[Any]]:
        async with self._reader.connect() as conn:
            return (await conn.execute(statement)).all()

    async def _fetch_one(self, statement: Any) -> Row[Any] | None:
        async with self._reader.connect() as conn:
            return (await conn.execute(statement)).first()

    async def _upsert(self, conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert or update `rows` by id: one statement run for many rows, chunk by chunk, in the caller's transaction.

        Each chunk stays well below the drivers' bound-parameter limits (asyncpg: 32,767), however the
        driver batches it, and a branch-sized file never sits in one giant statement.
        """
        if not rows:
            return
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = dialect_insert(table)
        updated = {name: statement.excluded[name] for name in rows[0] if name != "id"}
        upsert = statement.on_conflict_do_update(index_elements=["id"], set_=updated)
        per_chunk = max(1, UPSERT_PARAMETERS // len(rows[0]))
        for start in range(0, len(rows), per_chunk):
            await conn.execute(upsert, rows[start : start + per_chunk])

    async def get_client(self, client_id: str) -> Client | None:
        row = await self._fetch_one(select(t.clients).where(t.clients.c.id == client_id))
        return sql_rows.client_from_row(row) if row else None

    async def get_client_by_wecom(self, wecom_id: str) -> Client | None:
        row = await self._fetch_one(select(t.clients).where(t.clients.c.wecom_id == wecom_id))
        return sql_rows.client_from_row(row) if row else None

    async def list_clients(self) -> list[Client]:
        rows = await self._fetch_all(select(t.clients).order_by(t.clients.c.id))
        return [sql_rows.client_from_row(row) for row in rows]

    async def get_staff(self, staff_id: str) -> Staff | None:
        row = await self._fetch_one(select(t.staff).where(t.staff.c.id == staff_id))
        return sql_rows.staff_from_row(row) if row else None

    async def list_staff(self, role: Role | None = None) -> list[Staff]:
        statement = select(t.staff).order_by(t.staff.c.id)
        if role is not None:
            statement = statement.where(t.staff.c.role == role.value)
        return [sql_rows.staff_from_row(row) for row in await self._fetch_all(statement)]

    async def duty_manager(self, branch: str) -> Staff | None:
        row = await self._fetch_one(
            select(t.staff)
            .where(t.staff.c.role == Role.DUTY_MANAGER.value, t.staff.c.branch == branch)
            .order_by(t.staff.c.id)
            .limit(1)
        )
        return sql_rows.staff_from_row(row) if row else None

    async def replace_clients(self, clients: Sequence[Client]) -> None:
        async with self._engine.begin() as conn:
            await self._upsert(conn, t.clients, [sql_rows.client_to_row(client) for client in clients])

    async def replace_staff(self, staff: Sequence[Staff]) -> None:
        async with self._engine.begin() as conn:
            await self._upsert(conn, t.staff, [sql_rows.staff_to_row(member) for member in staff])

    async def get_password_hash(self, staff_id: str) -> str | None:
        row = await self._fetch_one(select(t.staff.c.password_hash).where(t.staff.c.id == staff_id))
        return row.password_hash if row else None

    async def set_password_hash(self, staff_id: str, password_hash: str) -> None:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(t.staff).where(t.staff.c.id == staff_id).values(password_hash=password_hash)
            )
            if result.rowcount == 0:
                raise NotFound(f"unknown staff member {staff_id!r}")

    async def bump_token_version(self, staff_id: str) -> int:
        return await sql_staff_access.bump_token_version(self._engine, staff_id)

    async def set_staff_active(self, staff_id: str, active: bool) -> Staff:
        return await sql_staff_access.set_staff_active(self._engine, staff_id, active)
