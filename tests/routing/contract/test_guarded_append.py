"""Record.append_message with a state guard: the same rule on the in-memory double, SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from routing.errors import IllegalTransition, NotFound
from routing.models import Channel, Client, Conversation, ConversationState, SenderKind, Tier, Transition
from routing.records import Record, StateGuard
from tests.routing.contract.record_backends import BACKENDS, record_on

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
BOT_ONLY = StateGuard("bot_reply", frozenset({ConversationState.BOT}))


@pytest.fixture(params=BACKENDS)
async def record(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Record]:
    async with record_on(request, request.param, tmp_path) as opened:
        yield opened


async def bot_conversation(record: Record) -> Conversation:
    await record.replace_clients([Client("k1", "客户k1", "standard", False, "上海", "r1")])
    conversation = Conversation("c1", "k1", Channel.WIDGET, ConversationState.BOT, Tier.BOT, AT, AT)
    await record.create_conversation(conversation)
    return conversation


async def test_a_guarded_append_stores_in_an_allowed_state(record: Record) -> None:
    await bot_conversation(record)
    stored = await record.append_message("c1", SenderKind.BOT, "您好", {}, None, AT, only_in=BOT_ONLY)
    assert stored.seq == 1 and await record.list_messages("c1") == [stored]


async def test_a_guarded_append_refuses_another_state_and_stores_nothing(record: Record) -> None:
    before = await bot_conversation(record)
    await record.append_message("c1", SenderKind.CLIENT, "科创板怎么开通", {}, None, AT)
    queued = dataclasses.replace(before, state=ConversationState.QUEUED, tier=Tier.ONLINE)
    await record.save_transition(
        before,
        queued,
        Transition("c1", "escalate", ConversationState.BOT, ConversationState.QUEUED, "bot", Tier.ONLINE, "test", AT),
    )
    with pytest.raises(IllegalTransition) as refused:
        await record.append_message("c1", SenderKind.BOT, "开通需要……", {}, None, AT, only_in=BOT_ONLY)
    assert (refused.value.transition, refused.value.state) == ("bot_reply", "queued")
    assert [m.text for m in await record.list_messages("c1")] == ["科创板怎么开通"]
    unguarded = await record.append_message("c1", SenderKind.SYSTEM, "正在为您转接", {}, None, AT)
    assert unguarded.seq == 2


async def test_an_unknown_conversation_is_not_found_before_any_guard(record: Record) -> None:
    with pytest.raises(NotFound):
        await record.append_message("ghost", SenderKind.BOT, "您好", {}, None, AT, only_in=BOT_ONLY)
