"""The SQL system of record: routing.records.Record over SQLAlchemy async (SQLite or PostgreSQL).

`SqlRecord(engine)` implements the Record port; build the engine with `create_engine_for(url)` and
the schema with `migrate(url)` (routing.sql_engine, re-exported here). Rows are translated by
routing.sql_rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from routing import sql_open_conversations as open_rule
from routing import sql_rows
from routing import sql_tables as t
from routing.errors import DuplicateClientMessage, NotFound, StaleConversation
from routing.models import (
    LIVE_TICKET_STATUSES,
    Conversation,
    ConversationState,
    Message,
    QueueName,
    SenderKind,
    ServedBy,
    Ticket,
    TicketStatus,
    Tier,
    Transition,
)
from routing.records import StateGuard
from routing.sql_audit import append_entry
from routing.sql_compliance import SqlComplianceSearch
from routing.sql_directory import SqlDirectory
from routing.sql_engine import (
    DEFAULT_DATABASE_URL,
    SQLITE_BEGIN_OPTION,
    create_engine_for,
    downgrade,
    ensure_sqlite_folder,
    is_sqlite,
    migrate,
    migrate_async,
)
from routing.sql_reports import SqlReports
from routing.state_machine import SERVED_STATES

__all__ = [
    "DEFAULT_DATABASE_URL",
    "SqlRecord",
    "create_engine_for",
    "downgrade",
    "ensure_sqlite_folder",
    "is_sqlite",
    "migrate",
    "migrate_async",
]


class SqlRecord(SqlDirectory, SqlComplianceSearch, SqlReports):
    """routing.records.Record on SQL. Pass an engine from `create_engine_for`; the caller disposes it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})

    @property
    def engine(self) -> AsyncEngine:
        """The engine the record writes through."""
        return self._engine

    # conversations

    async def create_conversation(self, conversation: Conversation) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(t.conversations).values(sql_rows.conversation_to_row(conversation)))
        except IntegrityError:
            await open_rule.refuse_second_open(self._reader, conversation.client_id, conversation.channel)
            raise

    async def open_conversation(self, conversation: Conversation) -> tuple[Conversation, bool]:
        return await open_rule.open_conversation(self._engine, conversation)

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        row = await self._fetch_one(select(t.conversations).where(t.conversations.c.id == conversation_id))
        return sql_rows.conversation_from_row(row) if row else None

    async def save_transition(self, before: Conversation, after: Conversation, transition: Transition) -> None:
        if not before.id == after.id == transition.conversation_id:
            raise ValueError("before, after and transition must name the same conversation")
        if after.version not in (before.version, before.version + 1):
            raise ValueError(f"after.version must be {before.version + 1} (before.version + 1)")
        values = sql_rows.conversation_to_row(after)
        values["version"] = before.version + 1
        del values["id"]
        try:
            async with self._engine.begin() as conn:
                result = await conn.execute(
                    update(t.conversations)
                    .where(
                        t.conversations.c.id == before.id,
                        t.conversations.c.version == before.version,
                        t.conversations.c.state == before.state.value,
                    )
                    .values(values)
                )
                if result.rowcount == 0:
                    exists = await conn.execute(select(t.conversations.c.id).where(t.conversations.c.id == before.id))
                    if exists.first() is None:
                        raise NotFound(f"unknown conversation {before.id!r}")
                    raise StaleConversation(f"conversation {before.id!r} changed since version {before.version}")
                await conn.execute(insert(t.transitions).values(sql_rows.transition_to_row(transition)))
        except IntegrityError:  # a reopen while the client has another open conversation on the channel
            await open_rule.refuse_second_open(self._reader, after.client_id, after.channel)
            raise

    async def append_message(  # noqa: PLR0917 - the contract's positional signature
        self,
        conversation_id: str,
        sender: SenderKind,
        text: str,
        payload: dict[str, object],
        served_by: ServedBy | None,
        at: datetime,
        client_msg_id: str | None = None,
        *,
        only_in: StateGuard | None = None,
    ) -> Message:
        async with self._engine.begin() as conn:
            # The row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) serialises appends per conversation.
            state, last = await self._locked_state_and_last_seq(conn, conversation_id)
            if only_in is not None:
                only_in.check(state)
            if client_msg_id is not None:
                await self._refuse_resent(conn, conversation_id, client_msg_id)
            message = Message(
                id=uuid.uuid4().hex,
                conversation_id=conversation_id,
                seq=last + 1,
                sender=sender,
                text=text,
                created_at=at,
                payload=dict(payload),
                served_by=served_by,
                client_msg_id=client_msg_id,
            )
            await conn.execute(insert(t.messages).values(sql_rows.message_to_row(message)))
        return message

    @staticmethod
    async def _locked_state_and_last_seq(conn: AsyncConnection, conversation_id: str) -> tuple[ConversationState, int]:
        """The conversation's state and its last message's seq, read under the append's lock (NotFound if none).

        SQLite reads both in one statement: BEGIN IMMEDIATE took the write lock before it. PostgreSQL reads the
        last seq only once the row lock is held, since a statement that waited for the lock still sees the
        messages as they were when it began."""
        last_seq = select(func.coalesce(func.max(t.messages.c.seq), 0)).where(
            t.messages.c.conversation_id == conversation_id
        )
        in_one_statement = conn.dialect.name == "sqlite"
        conversation = select(t.conversations.c.state).where(t.conversations.c.id == conversation_id)
        if in_one_statement:
            conversation = conversation.add_columns(last_seq.scalar_subquery().label("last_seq"))
        locked = (await conn.execute(conversation.with_for_update())).first()
        if locked is None:
            raise NotFound(f"unknown conversation {conversation_id!r}")
        last = locked.last_seq if in_one_statement else await conn.scalar(last_seq)
        return ConversationState(locked.state), int(last or 0)

    @staticmethod
    async def _refuse_resent(conn: AsyncConnection, conversation_id: str, client_msg_id: str) -> None:
        """DuplicateClientMessage when the conversation (locked by the caller) holds this client message id."""
        row = (
            await conn.execute(
                select(t.messages).where(
                    t.messages.c.conversation_id == conversation_id, t.messages.c.client_msg_id == client_msg_id
                )
            )
        ).first()
        if row is not None:
            raise DuplicateClientMessage(sql_rows.message_from_row(row))

    async def list_messages(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        rows = await self._fetch_all(
            select(t.messages)
            .where(t.messages.c.conversation_id == conversation_id, t.messages.c.seq > after_seq)
            .order_by(t.messages.c.seq)
            .limit(limit)
        )
        return [sql_rows.message_from_row(row) for row in rows]

    async def latest_messages(
        self, conversation_id: str, limit: int = 50, sender: SenderKind | None = None, before_seq: int | None = None
    ) -> list[Message]:
        statement = select(t.messages).where(t.messages.c.conversation_id == conversation_id)
        if before_seq is not None:
            statement = statement.where(t.messages.c.seq < before_seq)
        if sender is not None:
            statement = statement.where(t.messages.c.sender == sender.value)
        rows = await self._fetch_all(statement.order_by(t.messages.c.seq.desc()).limit(limit))
        return [sql_rows.message_from_row(row) for row in reversed(rows)]

    async def list_transitions(self, conversation_id: str) -> list[Transition]:
        rows = await self._fetch_all(
            select(t.transitions).where(t.transitions.c.conversation_id == conversation_id).order_by(t.transitions.c.id)
        )
        return [sql_rows.transition_from_row(row) for row in rows]

    async def conversations_in_states(self, states: Collection[ConversationState]) -> list[Conversation]:
        if not states:
            return []
        rows = await self._fetch_all(
            select(t.conversations)
            .where(t.conversations.c.state.in_([state.value for state in states]))
            .order_by(t.conversations.c.created_at, t.conversations.c.id)
        )
        return [sql_rows.conversation_from_row(row) for row in rows]

    async def active_count(self, staff_id: str) -> int:
        count = await self._fetch_one(
            select(func.count())
            .select_from(t.conversations)
            .where(
                t.conversations.c.assignee_id == staff_id,
                t.conversations.c.state.in_([state.value for state in SERVED_STATES]),
            )
        )
        return int(count[0]) if count else 0

    # tickets

    async def open_ticket(self, ticket: Ticket) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t.tickets).values(sql_rows.ticket_to_row(ticket)))

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        row = await self._fetch_one(select(t.tickets).where(t.tickets.c.id == ticket_id))
        return sql_rows.ticket_from_row(row) if row else None

    async def update_ticket(self, ticket: Ticket) -> None:
        values = sql_rows.ticket_to_row(ticket)
        del values["id"]
        async with self._engine.begin() as conn:
            result = await conn.execute(update(t.tickets).where(t.tickets.c.id == ticket.id).values(values))
            if result.rowcount == 0:
                raise NotFound(f"unknown ticket {ticket.id!r}")

    async def open_tickets(self) -> list[Ticket]:
        rows = await self._fetch_all(
            select(t.tickets)
            .where(t.tickets.c.status.in_([status.value for status in sorted(LIVE_TICKET_STATUSES)]))
            .order_by(t.tickets.c.priority.desc(), t.tickets.c.enqueued_at, t.tickets.c.id)
        )
        return [sql_rows.ticket_from_row(row) for row in rows]

    async def tickets_for_conversation(self, conversation_id: str) -> list[Ticket]:
        rows = await self._fetch_all(
            select(t.tickets)
            .where(t.tickets.c.conversation_id == conversation_id)
            .order_by(t.tickets.c.enqueued_at, t.tickets.c.id)
        )
        return [sql_rows.ticket_from_row(row) for row in rows]

    async def recent_handle_seconds(self, queue: QueueName, limit: int = 50) -> list[float]:
        rows = await self._fetch_all(
            select(t.tickets.c.assigned_at, t.tickets.c.resolved_at)
            .where(
                t.tickets.c.queue == queue.value,
                t.tickets.c.status == TicketStatus.RESOLVED.value,
                t.tickets.c.assigned_at.is_not(None),
                t.tickets.c.resolved_at.is_not(None),
            )
            .order_by(t.tickets.c.resolved_at.desc())
            .limit(limit)
        )
        return [max(0.0, (row.resolved_at - row.assigned_at).total_seconds()) for row in rows]

    # feedback and audit

    async def add_feedback(  # noqa: PLR0917 - the contract's positional signature
        self,
        conversation_id: str,
        ticket_id: str | None,
        tier: Tier,
        staff_id: str | None,
        resolved: bool,
        at: datetime,
    ) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(t.feedback).values(
                    conversation_id=conversation_id,
                    ticket_id=ticket_id,
                    tier=int(tier),
                    staff_id=staff_id,
                    resolved=resolved,
                    at=at,
                )
            )

    async def audit(self, actor: str, action: str, subject: str, detail: dict[str, object], at: datetime) -> None:
        async with self._engine.begin() as conn:  # the chain head's lock makes every worker extend one chain
            await append_entry(conn, actor, action, subject, detail, at)
