"""Compliance search on SQL: indexed filters on client, staff and creation time, a LIKE match on messages.

`SqlComplianceSearch` gives routing.sql_record.SqlRecord its `Record.search_conversations` (see
routing.compliance for the rule). The staff filter and the text filter are EXISTS sub-queries on messages (indexed on
served_staff_id and conversation_id); the text is matched with ILIKE and its wildcards escaped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from routing import sql_rows
from routing import sql_tables as t
from routing.compliance import LIKE_ESCAPE, ConversationHit, ConversationQuery, SearchPage, like_pattern
from routing.models import Message


def _filters(query: ConversationQuery) -> list[Any]:
    c, m = t.conversations.c, t.messages.c
    where: list[Any] = [c.created_at >= query.start, c.created_at < query.end]
    if query.client_id is not None:
        where.append(c.client_id == query.client_id)
    if query.staff_id is not None:
        served = exists().where(and_(m.conversation_id == c.id, m.served_staff_id == query.staff_id))
        where.append(or_(c.assignee_id == query.staff_id, served))
    if query.text is not None:
        where.append(exists().where(and_(m.conversation_id == c.id, _text_match(query.text))))
    return where


def _text_match(text: str) -> Any:
    return t.messages.c.text.ilike(like_pattern(text), escape=LIKE_ESCAPE)


async def search_conversations(engine: AsyncEngine, query: ConversationQuery) -> SearchPage:
    """One page of the conversations matching `query`, newest first, with each one's first matching message."""
    c = t.conversations.c
    where = _filters(query)
    async with engine.connect() as conn:
        total = int(await conn.scalar(select(func.count()).select_from(t.conversations).where(*where)) or 0)
        rows = (
            await conn.execute(
                select(t.conversations)
                .where(*where)
                .order_by(c.created_at.desc(), c.id.desc())
                .offset(query.offset)
                .limit(query.page_size)
            )
        ).all()
        conversations = [sql_rows.conversation_from_row(row) for row in rows]
        first: dict[str, Message] = {}
        if query.text is not None and conversations:
            matched = await conn.execute(
                select(t.messages)
                .where(t.messages.c.conversation_id.in_([x.id for x in conversations]), _text_match(query.text))
                .order_by(t.messages.c.conversation_id, t.messages.c.seq)
            )
            for row in matched.all():
                message = sql_rows.message_from_row(row)
                first.setdefault(message.conversation_id, message)
    hits = tuple(ConversationHit(x, first.get(x.id)) for x in conversations)
    return SearchPage(hits, total, query.page, query.page_size)


class SqlComplianceSearch:
    """The compliance search of the SQL record (a base of SqlRecord, which sets `_reader`)."""

    _reader: AsyncEngine

    async def search_conversations(self, query: ConversationQuery) -> SearchPage:
        """One page of conversations matching a checked query, newest first."""
        return await search_conversations(self._reader, query)
