"""Canned replies on SQL (routing.canned.CannedReplyStore), in the record's `canned_replies` table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from routing import sql_tables as t
from routing.canned import CannedReply, CannedTeam, in_order


def _from_row(row: Row[Any]) -> CannedReply:
    return CannedReply(row.id, CannedTeam(row.team), row.title, row.text, row.updated_by, row.updated_at)


def _to_row(reply: CannedReply) -> dict[str, Any]:
    return {
        "id": reply.id,
        "team": reply.team.value,
        "title": reply.title,
        "text": reply.text,
        "updated_by": reply.updated_by,
        "updated_at": reply.updated_at,
    }


class SqlCannedReplies:
    """The CannedReplyStore port over the record's engine (the caller disposes it)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def list_replies(self, teams: frozenset[CannedTeam] | None = None) -> list[CannedReply]:
        statement = select(t.canned_replies)
        if teams is not None:
            statement = statement.where(t.canned_replies.c.team.in_(sorted(team.value for team in teams)))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        return in_order([_from_row(row) for row in rows])

    async def get_reply(self, reply_id: str) -> CannedReply | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(t.canned_replies).where(t.canned_replies.c.id == reply_id))).first()
        return _from_row(row) if row is not None else None

    async def save_reply(self, reply: CannedReply) -> None:
        values = _to_row(reply)
        async with self._engine.begin() as conn:
            changed = await conn.execute(
                update(t.canned_replies).where(t.canned_replies.c.id == reply.id).values(**values)
            )
            if changed.rowcount == 0:
                await conn.execute(t.canned_replies.insert().values(**values))

    async def delete_reply(self, reply_id: str) -> bool:
        async with self._engine.begin() as conn:
            removed = await conn.execute(delete(t.canned_replies).where(t.canned_replies.c.id == reply_id))
        return bool(removed.rowcount)
