"""Alembic migrations on SQLite and PostgreSQL: upgrade from empty, match the tables, downgrade."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, inspect

from routing.errors import ConversationAlreadyOpen
from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    QueueName,
    Ticket,
    TicketStatus,
    Tier,
)
from routing.sql_engine import create_engine_for, downgrade, migrate, migrate_async
from routing.sql_record import SqlRecord
from routing.sql_tables import metadata
from routing.state_machine import TransitionName

REPO = Path(__file__).resolve().parents[2]
RECORD_TABLES = {
    "staff",
    "clients",
    "conversations",
    "messages",
    "tickets",
    "transitions",
    "feedback",
    "audit_log",
    "audit_chain_head",
    "api_keys",
    "canned_replies",
    "satisfaction_ratings",
    "staff_refresh_tokens",
}


def head_revision() -> str:
    """The one head of the migration scripts (two heads would be a broken chain)."""
    scripts = ScriptDirectory.from_config(Config(str(REPO / "alembic.ini")))
    heads = scripts.get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return str(heads[0])


def with_channel_tables() -> MetaData:
    """The one MetaData, with the WeCom channel's tables the same migrations create (as alembic/env.py loads them)."""
    import handoff_api.learning.tables  # the learning loop's tables, on the same MetaData
    import handoff_api.wecom.store  # noqa: F401 - defines its tables on routing.sql_tables.metadata

    return metadata


async def table_names(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def schema_differences(url: str) -> list[Any]:
    def compare(sync: Connection) -> list[Any]:
        context = MigrationContext.configure(sync, opts={"compare_type": True})
        return list(compare_metadata(context, with_channel_tables()))

    engine = create_engine_for(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def test_upgrade_from_empty_matches_the_tables_and_downgrades(empty_database_url: str) -> None:
    assert await table_names(empty_database_url) == set()
    await migrate_async(empty_database_url)
    assert RECORD_TABLES | {
        "wecom_outbox",
        "wecom_inbox",
        "wecom_conversations",
        "wecom_state",
        "kb_offers",
        "kb_candidates",
        "kb_index_versions",
        "alembic_version",
    } <= await table_names(empty_database_url)
    assert await schema_differences(empty_database_url) == []

    await migrate_async(empty_database_url)  # idempotent at head
    downgrade(empty_database_url)  # callable from inside a running event loop too
    assert await table_names(empty_database_url) == {"alembic_version"}

    migrate(empty_database_url)
    assert await schema_differences(empty_database_url) == []


def test_alembic_cli_defaults_to_sqlite_under_var(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    alembic = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini")]
    subprocess.run([*alembic, "upgrade", "head"], cwd=tmp_path, env=environment, check=True, capture_output=True)
    assert (tmp_path / "var" / "engine.db").is_file()
    current = subprocess.run(
        [*alembic, "current"], cwd=tmp_path, env=environment, check=True, capture_output=True, text=True
    )
    assert f"{head_revision()} (head)" in current.stdout


def test_alembic_cli_reads_database_url(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "record.db"
    environment = dict(os.environ, DATABASE_URL=f"sqlite+aiosqlite:///{target}")
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini"), "upgrade", "head"],
        cwd=tmp_path,
        env=environment,
        check=True,
        capture_output=True,
    )
    assert target.is_file()
    assert not (tmp_path / "var").exists()


def _conversation(conversation_id: str, state: ConversationState, minute: int, **changes: Any) -> Conversation:
    at = datetime(2026, 12, 1, 2, minute, tzinfo=UTC)
    return Conversation(
        id=conversation_id,
        client_id="k1",
        channel=changes.pop("channel", Channel.WIDGET),
        state=state,
        tier=Tier.ONLINE if state != ConversationState.BOT else Tier.BOT,
        created_at=at,
        updated_at=at,
        **changes,
    )


async def test_the_upgrade_to_0005_keeps_one_open_conversation_per_client_and_channel(empty_database_url: str) -> None:
    await migrate_async(empty_database_url, "0004")
    engine = create_engine_for(empty_database_url)
    try:
        record = SqlRecord(engine)
        await record.replace_clients([Client("k1", "客户", "gold", False, "sh", "r1")])
        ticket_at = datetime(2026, 12, 1, 2, 5, tzinfo=UTC)
        conversations = [
            _conversation("served", ConversationState.WITH_AGENT, 1, assignee_id="a1"),
            _conversation("newer-bot", ConversationState.BOT, 9),
            _conversation("queued", ConversationState.QUEUED, 5, ticket_id="t-queued", queue=QueueName.SERVICE),
            _conversation("closed", ConversationState.CLOSED, 7),
            _conversation("api", ConversationState.BOT, 3, channel=Channel.API),
        ]
        for conversation in conversations:
            await record.create_conversation(conversation)
        await record.open_ticket(
            Ticket(
                "t-queued",
                "queued",
                "k1",
                Tier.ONLINE,
                EscalationReason.LOW_SCORE,
                "问题",
                ticket_at,
                QueueName.SERVICE,
            )
        )
    finally:
        await engine.dispose()

    await migrate_async(empty_database_url)

    engine = create_engine_for(empty_database_url)
    try:
        record = SqlRecord(engine)
        states = {c.id: (await record.get_conversation(c.id)).state for c in conversations}  # type: ignore[union-attr]
        assert states == {
            "served": ConversationState.WITH_AGENT,  # the one being served is kept, though older
            "newer-bot": ConversationState.CLOSED,
            "queued": ConversationState.CLOSED,
            "closed": ConversationState.CLOSED,
            "api": ConversationState.BOT,  # another channel
        }
        [closing] = await record.list_transitions("queued")
        assert (closing.name, closing.from_state, closing.to_state, closing.actor) == (
            TransitionName.CLOSE.value,
            ConversationState.QUEUED,
            ConversationState.CLOSED,
            "system",
        )
        ticket = await record.get_ticket("t-queued")
        assert ticket is not None and ticket.status == TicketStatus.CLOSED
        assert (await record.get_conversation("newer-bot")).version == 1  # type: ignore[union-attr]
        with pytest.raises(ConversationAlreadyOpen):
            await record.create_conversation(_conversation("another", ConversationState.BOT, 11))
    finally:
        await engine.dispose()
    downgrade(empty_database_url, "0004")
    assert "api_keys" not in await table_names(empty_database_url)
