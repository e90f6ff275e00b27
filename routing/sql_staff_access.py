"""The staff member's access in SQL: the active flag and the token version (SqlRecord delegates here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from routing import sql_rows
from routing import sql_tables as t
from routing.errors import NotFound
from routing.models import Staff


async def bump_token_version(engine: AsyncEngine, staff_id: str) -> int:
    """Add one to the token version in one statement; the new version (NotFound if unknown)."""
    async with engine.begin() as conn:
        version = (
            await conn.execute(
                update(t.staff)
                .where(t.staff.c.id == staff_id)
                .values(token_version=t.staff.c.token_version + 1)
                .returning(t.staff.c.token_version)
            )
        ).scalar_one_or_none()
    if version is None:
        raise NotFound(f"unknown staff member {staff_id!r}")
    return int(version)


async def set_staff_active(engine: AsyncEngine, staff_id: str, active: bool) -> Staff:
    """Set the active flag (disabling also bumps the token version); the stored member (NotFound if unknown)."""
    values: dict[str, Any] = {"active": active}
    if not active:
        values["token_version"] = t.staff.c.token_version + 1
    async with engine.begin() as conn:
        row = (
            await conn.execute(update(t.staff).where(t.staff.c.id == staff_id).values(**values).returning(t.staff))
        ).first()
    if row is None:
        raise NotFound(f"unknown staff member {staff_id!r}")
    return sql_rows.staff_from_row(row)
