"""Refresh tokens in SQL (table `staff_refresh_tokens`): routing.sessions.RefreshTokenStore on the record's engine.

A rotation runs in one write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: the row is locked FOR
UPDATE), and marks the token rotated only if it is still unrotated, so of two concurrent uses of one
token exactly one rotates and the other revokes the family.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from routing import sql_tables as t
from routing.sessions import RefreshOutcome, RefreshToken, Rotation
from routing.sql_engine import SQLITE_BEGIN_OPTION

tokens = t.staff_refresh_tokens


def _token(row: Row[Any]) -> RefreshToken:
    return RefreshToken(
        token_hash=row.token_hash,
        staff_id=row.staff_id,
        family_id=row.family_id,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        rotated_at=row.rotated_at,
        revoked_at=row.revoked_at,
    )


class SqlRefreshTokenStore:
    """Refresh tokens by hash in the record's database. Pass an engine from `create_engine_for`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})

    async def add(self, token: RefreshToken) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(tokens).values(
                    token_hash=token.token_hash,
                    staff_id=token.staff_id,
                    family_id=token.family_id,
                    issued_at=token.issued_at,
                    expires_at=token.expires_at,
                    rotated_at=token.rotated_at,
                    revoked_at=token.revoked_at,
                )
            )

    async def rotate(self, token_hash: str, new_hash: str, expires_at: datetime, now: datetime) -> Rotation:
        async with self._engine.begin() as conn:
            query = select(tokens).where(tokens.c.token_hash == token_hash)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = (await conn.execute(query)).first()
            if row is None:
                return Rotation(RefreshOutcome.UNKNOWN)
            token = _token(row)
            if token.revoked_at is not None:
                return Rotation(RefreshOutcome.REVOKED, token.staff_id, token.family_id)
            if token.rotated_at is not None:
                await _revoke(conn, tokens.c.family_id == token.family_id, now)
                return Rotation(RefreshOutcome.REUSED, token.staff_id, token.family_id)
            if token.expires_at <= now:
                return Rotation(RefreshOutcome.EXPIRED, token.staff_id, token.family_id)
            marked = await conn.execute(
                update(tokens)
                .where(tokens.c.token_hash == token_hash, tokens.c.rotated_at.is_(None), tokens.c.revoked_at.is_(None))
                .values(rotated_at=now)
            )
            if marked.rowcount != 1:
                await _revoke(conn, tokens.c.family_id == token.family_id, now)
                return Rotation(RefreshOutcome.REUSED, token.staff_id, token.family_id)
            await conn.execute(
                insert(tokens).values(
                    token_hash=new_hash,
                    staff_id=token.staff_id,
                    family_id=token.family_id,
                    issued_at=now,
                    expires_at=expires_at,
                )
            )
        return Rotation(RefreshOutcome.ROTATED, token.staff_id, token.family_id)

    async def get(self, token_hash: str) -> RefreshToken | None:
        async with self._reader.connect() as conn:
            row = (await conn.execute(select(tokens).where(tokens.c.token_hash == token_hash))).first()
        return _token(row) if row else None

    async def family_live(self, family_id: str, now: datetime) -> bool:
        live = and_(
            tokens.c.family_id == family_id,
            tokens.c.rotated_at.is_(None),
            tokens.c.revoked_at.is_(None),
            tokens.c.expires_at > now,
        )
        async with self._reader.connect() as conn:
            return bool((await conn.execute(select(exists().where(live)))).scalar())

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        async with self._engine.begin() as conn:
            return await _revoke(conn, tokens.c.family_id == family_id, now)

    async def revoke_staff(self, staff_id: str, now: datetime) -> int:
        async with self._engine.begin() as conn:
            return await _revoke(conn, tokens.c.staff_id == staff_id, now)


async def _revoke(conn: AsyncConnection, chosen: Any, now: datetime) -> int:
    result = await conn.execute(update(tokens).where(chosen, tokens.c.revoked_at.is_(None)).values(revoked_at=now))
    return int(result.rowcount)
