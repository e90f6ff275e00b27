"""One open conversation per client and channel, in SQL (SQLite and PostgreSQL) and in the fake record alike."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from routing.errors import ConversationAlreadyOpen
from routing.models import Channel, Client, Conversation, ConversationState, Tier, Transition
from routing.records import Record
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord
from tests.routing.fakes import FakeRecord

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
CLIENT = Client("k1", "客户", "gold", False, "sh", "r1")


def new_conversation(channel: Channel = Channel.API, client_id: str = "k1") -> Conversation:
    return Conversation(
        id=uuid.uuid4().hex,
        client_id=client_id,
        channel=channel,
        state=ConversationState.BOT,
        tier=Tier.BOT,
        created_at=T0,
        updated_at=T0,
    )


async def close(record: Record, conversation: Conversation) -> Conversation:
    closed = dataclasses.replace(conversation, state=ConversationState.CLOSED, version=conversation.version + 1)
    transition = Transition(
        conversation.id, "close", conversation.state, closed.state, "client", conversation.tier, "done", T0
    )
    await record.save_transition(conversation, closed, transition)
    return closed


async def reopen(record: Record, closed: Conversation) -> None:
    again = dataclasses.replace(closed, state=ConversationState.BOT, version=closed.version + 1)
    transition = Transition(closed.id, "reopen", closed.state, again.state, "staff", closed.tier, "again", T0)
    await record.save_transition(closed, again, transition)


async def the_rule_holds(record: Record) -> None:
    """Open returns the open one; another channel or a closed one makes a new one; a second is refused."""
    first, created = await record.open_conversation(new_conversation())
    assert created
    again, created = await record.open_conversation(new_conversation())
    assert (again, created) == (first, False)
    widget, created = await record.open_conversation(new_conversation(Channel.WIDGET))
    assert created and widget.id != first.id

    with pytest.raises(ConversationAlreadyOpen, match="already has an open api conversation"):
        await record.create_conversation(new_conversation())
    closed = await close(record, first)
    fresh, created = await record.open_conversation(new_conversation())
    assert created and fresh.id != first.id
    with pytest.raises(ConversationAlreadyOpen):
        await reopen(record, closed)  # the client is talking in `fresh` now
    assert (await record.get_conversation(first.id)) == closed


@pytest.fixture
async def record(sql_record: SqlRecord) -> SqlRecord:
    await sql_record.replace_clients([CLIENT, dataclasses.replace(CLIENT, id="k2")])
    return sql_record


async def test_one_open_conversation_per_client_and_channel_in_sql(record: SqlRecord) -> None:
    await the_rule_holds(record)


async def test_the_fake_record_keeps_the_same_rule() -> None:
    fake = FakeRecord()
    await fake.replace_clients([CLIENT])
    await the_rule_holds(fake)


async def test_200_parallel_opens_from_two_engines_make_one_conversation(
    record: SqlRecord, migrated_database_url: str
) -> None:
    """Two engines (two API workers' pools) open for one client at once: one inserts, all get that one."""
    other_engine = create_engine_for(migrated_database_url)
    try:
        other = SqlRecord(other_engine)
        opens = [(record if index % 2 else other).open_conversation(new_conversation()) for index in range(200)]
        results = await asyncio.gather(*opens)
    finally:
        await other_engine.dispose()
    assert sum(created for _, created in results) == 1
    assert len({conversation.id for conversation, _ in results}) == 1
    open_ones = await record.conversations_in_states({ConversationState.BOT})
    assert [c.client_id for c in open_ones] == ["k1"]


async def test_parallel_opens_for_different_clients_do_not_wait_on_each_other(record: SqlRecord) -> None:
    results = await asyncio.gather(
        *(record.open_conversation(new_conversation(client_id=client)) for client in ["k1", "k2"] * 10)
    )
    assert sorted(c.client_id for c, created in results if created) == ["k1", "k2"]
    assert len({c.id for c, _ in results}) == 2


async def test_an_open_after_the_open_one_was_closed_starts_afresh(record: SqlRecord) -> None:
    first, _ = await record.open_conversation(new_conversation())
    await close(record, first)
    later = dataclasses.replace(new_conversation(), created_at=T0 + timedelta(hours=1))
    second, created = await record.open_conversation(later)
    assert created and second == later
