"""Record.search_conversations: the same rule (routing.compliance) on the in-memory double, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from routing.compliance import ConversationQuery
from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    SenderKind,
    ServedBy,
    Tier,
)
from routing.records import Record
from tests.routing.contract.record_backends import BACKENDS, record_on

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def record(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Record]:
    async with record_on(request, request.param, tmp_path) as opened:
        yield opened


def conversation(conversation_id: str, client_id: str, day: int, assignee: str | None = None) -> Conversation:
    at = DAY0 + timedelta(days=day)
    return Conversation(
        conversation_id,
        client_id,
        Channel.WIDGET,
        ConversationState.CLOSED,
        Tier.ONLINE,
        at,
        at,
        assignee_id=assignee,
    )


async def world(record: Record) -> None:
    """c1 (k1, day 0, served by a1), c2 (k2, day 1, held by a2), c3 (k1, day 2, bot only), c4 (k2, day 40)."""
    await record.replace_clients([Client(k, f"客户{k}", "standard", False, "上海", "r1") for k in ("k1", "k2")])
    for item in (
        conversation("c1", "k1", 0),
        conversation("c2", "k2", 1, assignee="a2"),
        conversation("c3", "k1", 2),
        conversation("c4", "k2", 40),
    ):
        await record.create_conversation(item)
    at = DAY0 + timedelta(hours=1)
    await record.append_message("c1", SenderKind.CLIENT, "科创板怎么开通？", {}, None, at)
    await record.append_message(
        "c1", SenderKind.AGENT, "开通科创板需要50万资产（100%确认）", {}, ServedBy(Tier.ONLINE, "a1", at), at
    )
    await record.append_message("c2", SenderKind.CLIENT, "我想转人工 ABC", {}, None, at + timedelta(days=1))
    await record.append_message("c3", SenderKind.CLIENT, "科创板的涨跌幅", {}, None, at + timedelta(days=2))
    await record.append_message("c4", SenderKind.CLIENT, "科创板", {}, None, at + timedelta(days=40))


def query(**changes: object) -> ConversationQuery:
    values: dict[str, object] = {"start": DAY0, "end": DAY0 + timedelta(days=30)}
    values.update(changes)
    return ConversationQuery(**values)  # type: ignore[arg-type]


async def ids(record: Record, found: ConversationQuery) -> list[str]:
    return [hit.conversation.id for hit in (await record.search_conversations(found)).hits]


async def test_the_range_and_newest_first(record: Record) -> None:
    await world(record)
    assert await ids(record, query()) == ["c3", "c2", "c1"]
    assert await ids(record, query(start=DAY0 + timedelta(days=1), end=DAY0 + timedelta(days=2))) == ["c2"]


async def test_filters_on_client_and_on_who_served_or_holds(record: Record) -> None:
    await world(record)
    assert await ids(record, query(client_id="k1")) == ["c3", "c1"]
    assert await ids(record, query(staff_id="a1")) == ["c1"]
    assert await ids(record, query(staff_id="a2")) == ["c2"]
    assert await ids(record, query(staff_id="nobody")) == []


async def test_text_matches_a_message_and_returns_the_first_match(record: Record) -> None:
    await world(record)
    found = await record.search_conversations(query(text="科创板"))
    assert [(h.conversation.id, h.matched.seq if h.matched else None) for h in found.hits] == [("c3", 1), ("c1", 1)]
    assert await ids(record, query(text="abc")) == ["c2"]  # case-insensitive
    assert await ids(record, query(text="科创板", client_id="k1", staff_id="a1")) == ["c1"]


async def test_like_wildcards_are_plain_characters(record: Record) -> None:
    await world(record)
    assert await ids(record, query(text="100%")) == ["c1"]
    assert await ids(record, query(text="%")) == ["c1"]
    assert await ids(record, query(text="_")) == []
    assert await ids(record, query(text="\\")) == []


async def test_pages_and_the_total(record: Record) -> None:
    await world(record)
    first = await record.search_conversations(query(page_size=2))
    second = await record.search_conversations(query(page_size=2, page=2))
    assert ([h.conversation.id for h in first.hits], first.total) == (["c3", "c2"], 3)
    assert ([h.conversation.id for h in second.hits], second.total, second.page) == (["c1"], 3, 2)
    assert (await record.search_conversations(query(page_size=2, page=3))).hits == ()
