"""The one-open-conversation rule in SQL: a client has at most one conversation that is not closed per channel.

The partial unique index `uq_conversations_open_client_channel` (routing.sql_tables) enforces it on SQLite and
PostgreSQL alike. `open_conversation` inserts with ON CONFLICT DO NOTHING, so of any number of simultaneous opens
(in any number of workers) one inserts and the others wait for it, then read the winner; `refuse_second_open`
turns an insert or a reopen that broke the index into routing.errors.ConversationAlreadyOpen.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from routing import sql_rows
from routing import sql_tables as t
from routing.errors import ConversationAlreadyOpen, StaleConversation
from routing.models import Channel, Conversation, ConversationState

OPEN_ATTEMPTS = 5
"""How often an open is tried again when the conversation it lost to was closed in between."""


def open_on_channel(client_id: str, channel: Channel) -> Select[Any]:
    """The client's conversation on `channel` that is not closed (there is at most one)."""
    return select(t.conversations).where(
        t.conversations.c.client_id == client_id,
        t.conversations.c.channel == channel.value,
        t.conversations.c.state != ConversationState.CLOSED.value,
    )


async def open_conversation(engine: AsyncEngine, conversation: Conversation) -> tuple[Conversation, bool]:
    """Insert `conversation` unless its client has an open one on its channel; (the open one, inserted?)."""
    row = sql_rows.conversation_to_row(conversation)
    for _ in range(OPEN_ATTEMPTS):
        async with engine.begin() as conn:
            dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
            statement = dialect_insert(t.conversations).values(row).on_conflict_do_nothing()
            inserted = await conn.execute(statement.returning(t.conversations.c.id))
            if inserted.first() is not None:
                return conversation, True
            winner = (await conn.execute(open_on_channel(conversation.client_id, conversation.channel))).first()
            if winner is not None:
                return sql_rows.conversation_from_row(winner), False
    raise StaleConversation(f"could not open a conversation for client {conversation.client_id!r}; try again")


async def refuse_second_open(engine: AsyncEngine, client_id: str, channel: Channel) -> None:
    """Raise ConversationAlreadyOpen if the client has a conversation that is not closed on `channel`."""
    async with engine.connect() as conn:
        if (await conn.execute(open_on_channel(client_id, channel))).first() is not None:
            raise ConversationAlreadyOpen(
                f"client {client_id!r} already has an open {channel.value} conversation; continue that one"
            )
