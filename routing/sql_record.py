"""The SQL system of record: routing.records.Record over SQLAlchemy async (SQLite or PostgreSQL).

- `create_engine_for(url)` builds an engine with the per-backend settings the record relies on
  (SQLite: foreign keys on, WAL, busy timeout and BEGIN IMMEDIATE for writes, which serialises
  writers the way PostgreSQL's row locks do).
- `migrate(url)` upgrades the schema to the latest Alembic revision.
- `SqlRecord(engine)` implements the Record port.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection as SyncConnection
from sqlalchemy import Row, Table, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from routing import sql_tables as t
from routing.errors import NotFound, StaleConversation
from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
    QueueName,
    ResponderStep,
    Role,
    SenderKind,
    ServedBy,
    Staff,
    Ticket,
    TicketStatus,
    Tier,
    Transition,
)

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/engine.db"
"""The embedded default: a SQLite file under var/ (relative to the working directory)."""

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"
SQLITE_BEGIN_OPTION = "sqlite_begin"
ACTIVE_STATES = (ConversationState.WITH_AGENT, ConversationState.WITH_RESPONDER)
LIVE_TICKET_STATUSES = (TicketStatus.OPEN, TicketStatus.ASSIGNED)
SKILL_SEPARATOR = "|"


# --- engine and schema -------------------------------------------------------------------------


def is_sqlite(url: str) -> bool:
    """Whether the URL points at SQLite."""
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a file-based SQLite database (var/ for the default) if missing."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def create_engine_for(url: str, **engine_options: Any) -> AsyncEngine:
    """An async engine for `sqlite+aiosqlite://` or `postgresql+asyncpg://` URLs, set up for the record."""
    if not is_sqlite(url):
        return create_async_engine(url, pool_pre_ping=True, **engine_options)
    ensure_sqlite_folder(url)
    engine_options.setdefault("connect_args", {"timeout": 30})
    engine = create_async_engine(url, **engine_options)
    _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    """Let SQLAlchemy, not the driver, emit BEGIN, so writers take the lock before they read."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: SyncConnection) -> None:
        mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision` (Alembic), blocking until done.

    Alembic's async env runs its own event loop, so it runs in a separate thread: this works from
    plain code and from inside a running event loop alike (use `migrate_async` there to not block it).
    """
    _run_alembic_in_thread("upgrade", url, revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Downgrade the database at `url` to `revision` (default: drop everything)."""
    _run_alembic_in_thread("downgrade", url, revision)


async def migrate_async(url: str, revision: str = "head") -> None:
    """`migrate` without blocking the running event loop."""
    await asyncio.to_thread(migrate, url, revision)


def _run_alembic_in_thread(direction: str, url: str, revision: str) -> None:
    from alembic.config import Config

    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.attributes["database_url"] = url
    errors: list[BaseException] = []

    def run() -> None:
        try:
            if direction == "upgrade":
                command.upgrade(config, revision)
            else:
                command.downgrade(config, revision)
        except BaseException as error:  # re-raised in the calling thread
            errors.append(error)

    worker = threading.Thread(target=run, name=f"alembic-{direction}")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]


# --- row mapping ---------------------------------------------------------------------------------


def _skills_to_text(skills: Iterable[QueueName]) -> str:
    return SKILL_SEPARATOR.join(sorted(skill.value for skill in skills))


def _skills_from_text(text: str) -> frozenset[QueueName]:
    return frozenset(QueueName(part) for part in text.split(SKILL_SEPARATOR) if part)


def _client_row(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "tier": client.tier,
        "vip": client.vip,
        "branch": client.branch,
        "responder_id": client.responder_id,
        "wecom_id": client.wecom_id,
    }


def _client(row: Row[Any]) -> Client:
    return Client(
        id=row.id,
        name=row.name,
        tier=row.tier,
        vip=bool(row.vip),
        branch=row.branch,
        responder_id=row.responder_id,
        wecom_id=row.wecom_id,
    )


def _staff_row(member: Staff) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.name,
        "role": member.role.value,
        "skills": _skills_to_text(member.skills),
        "max_concurrency": member.max_concurrency,
        "branch": member.branch,
        "practice_number": member.practice_number,
        "backup_id": member.backup_id,
        "wecom_user_id": member.wecom_user_id,
    }


def _staff(row: Row[Any]) -> Staff:
    return Staff(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        skills=_skills_from_text(row.skills),
        max_concurrency=row.max_concurrency,
        branch=row.branch,
        practice_number=row.practice_number,
        backup_id=row.backup_id,
        wecom_user_id=row.wecom_user_id,
    )


def _conversation_row(conversation: Conversation) -> dict[str, Any]:
    return {
        "id": conversation.id,
        "client_id": conversation.client_id,
        "channel": conversation.channel.value,
        "state": conversation.state.value,
        "tier": int(conversation.tier),
        "queue": conversation.queue.value if conversation.queue else None,
        "assignee_id": conversation.assignee_id,
        "ticket_id": conversation.ticket_id,
        "escalation_reason": conversation.escalation_reason.value if conversation.escalation_reason else None,
        "version": conversation.version,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
    }


def _conversation(row: Row[Any]) -> Conversation:
    return Conversation(
        id=row.id,
        client_id=row.client_id,
        channel=Channel(row.channel),
        state=ConversationState(row.state),
        tier=Tier(row.tier),
        created_at=row.created_at,
        updated_at=row.updated_at,
        queue=QueueName(row.queue) if row.queue else None,
        assignee_id=row.assignee_id,
        ticket_id=row.ticket_id,
        escalation_reason=EscalationReason(row.escalation_reason) if row.escalation_reason else None,
        version=row.version,
    )


def _message(row: Row[Any]) -> Message:
    served_by = None
    if row.served_tier is not None:
        served_by = ServedBy(tier=Tier(row.served_tier), staff_id=row.served_staff_id, at=row.served_at)
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender=SenderKind(row.sender),
        text=row.text,
        created_at=row.created_at,
        payload=dict(row.payload),
        served_by=served_by,
    )


def _transition_row(transition: Transition) -> dict[str, Any]:
    return {
        "conversation_id": transition.conversation_id,
        "name": transition.name,
        "from_state": transition.from_state.value,
        "to_state": transition.to_state.value,
        "actor": transition.actor,
        "tier": int(transition.tier),
        "reason": transition.reason,
        "at": transition.at,
    }


def _transition(row: Row[Any]) -> Transition:
    return Transition(
        conversation_id=row.conversation_id,
        name=row.name,
        from_state=ConversationState(row.from_state),
        to_state=ConversationState(row.to_state),
        actor=row.actor,
        tier=Tier(row.tier),
        reason=row.reason,
        at=row.at,
    )


def _ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "client_id": ticket.client_id,
        "queue": ticket.queue.value if ticket.queue else None,
        "priority": ticket.priority,
        "vip": ticket.vip,
        "tier": int(ticket.tier),
        "reason": ticket.reason.value,
        "question": ticket.question,
        "status": ticket.status.value,
        "enqueued_at": ticket.enqueued_at,
        "assigned_to": ticket.assigned_to,
        "assigned_at": ticket.assigned_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "responder_step": int(ticket.responder_step) if ticket.responder_step is not None else None,
        "responder_deadline": ticket.responder_deadline,
    }


def _ticket(row: Row[Any]) -> Ticket:
    return Ticket(
        id=row.id,
        conversation_id=row.conversation_id,
        client_id=row.client_id,
        tier=Tier(row.tier),
        reason=EscalationReason(row.reason),
        question=row.question,
        enqueued_at=row.enqueued_at,
        queue=QueueName(row.queue) if row.queue else None,
        priority=row.priority,
        vip=bool(row.vip),
        status=TicketStatus(row.status),
        assigned_to=row.assigned_to,
        assigned_at=row.assigned_at,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        responder_step=ResponderStep(row.responder_step) if row.responder_step is not None else None,
        responder_deadline=row.responder_deadline,
    )


# --- the record ----------------------------------------------------------------------------------


class SqlRecord:
    """routing.records.Record on SQL. Pass an engine from `create_engine_for`; the caller disposes it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._reader = engine.execution_options(**{SQLITE_BEGIN_OPTION: "DEFERRED"})

    @property
    def engine(self) -> AsyncEngine:
        """The engine the record writes through."""
        return self._engine

    async def _fetch_all(self, statement: Any) -> Sequence[Row[Any]]:
        async with self._reader.connect() as conn:
            return (await conn.execute(statement)).all()

    async def _fetch_one(self, statement: Any) -> Row[Any] | None:
        async with self._reader.connect() as conn:
            return (await conn.execute(statement)).first()

    async def _upsert(self, conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = dialect_insert(table).values(rows)
        updated = {name: statement.excluded[name] for name in rows[0] if name != "id"}
        await conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=updated))

    # directory

    async def get_client(self, client_id: str) -> Client | None:
        row = await self._fetch_one(select(t.clients).where(t.clients.c.id == client_id))
        return _client(row) if row else None

    async def get_client_by_wecom(self, wecom_id: str) -> Client | None:
        row = await self._fetch_one(select(t.clients).where(t.clients.c.wecom_id == wecom_id))
        return _client(row) if row else None

    async def list_clients(self) -> list[Client]:
        rows = await self._fetch_all(select(t.clients).order_by(t.clients.c.id))
        return [_client(row) for row in rows]

    async def get_staff(self, staff_id: str) -> Staff | None:
        row = await self._fetch_one(select(t.staff).where(t.staff.c.id == staff_id))
        return _staff(row) if row else None

    async def list_staff(self, role: Role | None = None) -> list[Staff]:
        statement = select(t.staff).order_by(t.staff.c.id)
        if role is not None:
            statement = statement.where(t.staff.c.role == role.value)
        return [_staff(row) for row in await self._fetch_all(statement)]

    async def duty_manager(self, branch: str) -> Staff | None:
        row = await self._fetch_one(
            select(t.staff)
            .where(t.staff.c.role == Role.DUTY_MANAGER.value, t.staff.c.branch == branch)
            .order_by(t.staff.c.id)
            .limit(1)
        )
        return _staff(row) if row else None

    async def replace_clients(self, clients: Sequence[Client]) -> None:
        async with self._engine.begin() as conn:
            await self._upsert(conn, t.clients, [_client_row(client) for client in clients])

    async def replace_staff(self, staff: Sequence[Staff]) -> None:
        async with self._engine.begin() as conn:
            await self._upsert(conn, t.staff, [_staff_row(member) for member in staff])

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

    # conversations

    async def create_conversation(self, conversation: Conversation) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t.conversations).values(_conversation_row(conversation)))

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        row = await self._fetch_one(select(t.conversations).where(t.conversations.c.id == conversation_id))
        return _conversation(row) if row else None

    async def save_transition(self, before: Conversation, after: Conversation, transition: Transition) -> None:
        if not before.id == after.id == transition.conversation_id:
            raise ValueError("before, after and transition must name the same conversation")
        if after.version not in (before.version, before.version + 1):
            raise ValueError(f"after.version must be {before.version + 1} (before.version + 1)")
        values = _conversation_row(after)
        values["version"] = before.version + 1
        del values["id"]
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
            await conn.execute(insert(t.transitions).values(_transition_row(transition)))

    async def append_message(  # noqa: PLR0917 - the contract's positional signature
        self,
        conversation_id: str,
        sender: SenderKind,
        text: str,
        payload: dict[str, object],
        served_by: ServedBy | None,
        at: datetime,
    ) -> Message:
        async with self._engine.begin() as conn:
            # The row lock (PostgreSQL) or BEGIN IMMEDIATE (SQLite) serialises appends per conversation.
            locked = await conn.execute(
                select(t.conversations.c.id).where(t.conversations.c.id == conversation_id).with_for_update()
            )
            if locked.first() is None:
                raise NotFound(f"unknown conversation {conversation_id!r}")
            last = await conn.scalar(
                select(func.coalesce(func.max(t.messages.c.seq), 0)).where(
                    t.messages.c.conversation_id == conversation_id
                )
            )
            message = Message(
                id=uuid.uuid4().hex,
                conversation_id=conversation_id,
                seq=int(last or 0) + 1,
                sender=sender,
                text=text,
                created_at=at,
                payload=dict(payload),
                served_by=served_by,
            )
            await conn.execute(
                insert(t.messages).values(
                    id=message.id,
                    conversation_id=conversation_id,
                    seq=message.seq,
                    sender=sender.value,
                    text=text,
                    payload=message.payload,
                    served_tier=int(served_by.tier) if served_by else None,
                    served_staff_id=served_by.staff_id if served_by else None,
                    served_at=served_by.at if served_by else None,
                    created_at=at,
                )
            )
        return message

    async def list_messages(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        rows = await self._fetch_all(
            select(t.messages)
            .where(t.messages.c.conversation_id == conversation_id, t.messages.c.seq > after_seq)
            .order_by(t.messages.c.seq)
            .limit(limit)
        )
        return [_message(row) for row in rows]

    async def latest_messages(
        self, conversation_id: str, limit: int = 50, sender: SenderKind | None = None
    ) -> list[Message]:
        statement = select(t.messages).where(t.messages.c.conversation_id == conversation_id)
        if sender is not None:
            statement = statement.where(t.messages.c.sender == sender.value)
        rows = await self._fetch_all(statement.order_by(t.messages.c.seq.desc()).limit(limit))
        return [_message(row) for row in reversed(rows)]

    async def list_transitions(self, conversation_id: str) -> list[Transition]:
        rows = await self._fetch_all(
            select(t.transitions).where(t.transitions.c.conversation_id == conversation_id).order_by(t.transitions.c.id)
        )
        return [_transition(row) for row in rows]

    async def conversations_in_states(self, states: Collection[ConversationState]) -> list[Conversation]:
        if not states:
            return []
        rows = await self._fetch_all(
            select(t.conversations)
            .where(t.conversations.c.state.in_([state.value for state in states]))
            .order_by(t.conversations.c.created_at, t.conversations.c.id)
        )
        return [_conversation(row) for row in rows]

    async def active_count(self, staff_id: str) -> int:
        count = await self._fetch_one(
            select(func.count())
            .select_from(t.conversations)
            .where(
                t.conversations.c.assignee_id == staff_id,
                t.conversations.c.state.in_([state.value for state in ACTIVE_STATES]),
            )
        )
        return int(count[0]) if count else 0

    # tickets

    async def open_ticket(self, ticket: Ticket) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(insert(t.tickets).values(_ticket_row(ticket)))

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        row = await self._fetch_one(select(t.tickets).where(t.tickets.c.id == ticket_id))
        return _ticket(row) if row else None

    async def update_ticket(self, ticket: Ticket) -> None:
        values = _ticket_row(ticket)
        del values["id"]
        async with self._engine.begin() as conn:
            result = await conn.execute(update(t.tickets).where(t.tickets.c.id == ticket.id).values(values))
            if result.rowcount == 0:
                raise NotFound(f"unknown ticket {ticket.id!r}")

    async def open_tickets(self) -> list[Ticket]:
        rows = await self._fetch_all(
            select(t.tickets)
            .where(t.tickets.c.status.in_([status.value for status in LIVE_TICKET_STATUSES]))
            .order_by(t.tickets.c.priority.desc(), t.tickets.c.enqueued_at, t.tickets.c.id)
        )
        return [_ticket(row) for row in rows]

    async def tickets_for_conversation(self, conversation_id: str) -> list[Ticket]:
        rows = await self._fetch_all(
            select(t.tickets)
            .where(t.tickets.c.conversation_id == conversation_id)
            .order_by(t.tickets.c.enqueued_at, t.tickets.c.id)
        )
        return [_ticket(row) for row in rows]

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
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(t.audit_log).values(actor=actor, action=action, subject=subject, detail=dict(detail), at=at)
            )
