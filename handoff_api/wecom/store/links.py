"""Which WeCom identity each conversation talks through, in SQL (table wecom_conversations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.wecom.identity import ConversationLink, IdentityKind
from handoff_api.wecom.store.tables import wecom_conversations


def _link(row: Any) -> ConversationLink:
    return ConversationLink(
        conversation_id=row.conversation_id,
        wecom_user_id=row.wecom_user_id,
        client_id=row.client_id,
        kind=IdentityKind(row.kind),
        open_kfid=row.open_kfid,
        created_at=row.created_at,
        relayed_seq=row.relayed_seq,
    )


class ConversationLinks:
    """SQL store of conversation links, table wecom_conversations."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, conversation_id: str) -> ConversationLink | None:
        """The link of one conversation, or None if it did not start in WeCom."""
        statement = select(wecom_conversations).where(wecom_conversations.c.conversation_id == conversation_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return _link(row) if row is not None else None

    async def for_user(self, wecom_user_id: str, client_id: str, limit: int = 20) -> list[ConversationLink]:
        """The identity's conversations as this client, newest first."""
        table = wecom_conversations
        statement = (
            select(table)
            .where(table.c.wecom_user_id == wecom_user_id, table.c.client_id == client_id)
            .order_by(table.c.created_at.desc())
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_link(row) for row in await connection.execute(statement)]

    async def recent(self, since: datetime) -> list[ConversationLink]:
        """Links touched since the given instant (for catching up on replies after a restart)."""
        statement = select(wecom_conversations).where(wecom_conversations.c.updated_at >= since)
        async with self._engine.connect() as connection:
            return [_link(row) for row in await connection.execute(statement)]

    async def add(self, link: ConversationLink) -> None:
        """Store a new link."""
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(wecom_conversations).values(
                    conversation_id=link.conversation_id,
                    wecom_user_id=link.wecom_user_id,
                    client_id=link.client_id,
                    kind=link.kind,
                    open_kfid=link.open_kfid,
                    relayed_seq=link.relayed_seq,
                    created_at=link.created_at,
                    updated_at=link.created_at,
                )
            )

    async def touch(self, conversation_id: str, kind: IdentityKind, open_kfid: str | None, at: datetime) -> None:
        """Remember the route the client used last (a 微信客服 account may change)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(wecom_conversations)
                .where(wecom_conversations.c.conversation_id == conversation_id)
                .values(kind=kind, open_kfid=open_kfid, updated_at=at)
            )

    async def advance(self, conversation_id: str, seq: int) -> None:
        """Record that messages up to seq were handed to WeCom (never moves backwards)."""
        table = wecom_conversations
        async with self._engine.begin() as connection:
            await connection.execute(
                update(table)
                .where(table.c.conversation_id == conversation_id, table.c.relayed_seq < seq)
                .values(relayed_seq=seq)
            )
