"""The client's open path: one open conversation per client and channel, over the fake and the SQL record."""

from __future__ import annotations

import asyncio

import pytest

from routing.errors import Forbidden, NotFound
from routing.models import Channel, ConversationState
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import World, build_world


async def test_opening_again_returns_the_open_conversation(world: World) -> None:
    first = await world.service.open_conversation("c-std", Channel.API)
    again = await world.service.open_conversation("c-std", Channel.API)
    assert first.created and not again.created
    assert again.conversation == first.conversation
    assert await world.service.start_conversation("c-std", Channel.API) == first.conversation
    widget = await world.service.open_conversation("c-std", Channel.WIDGET)
    assert widget.created and widget.conversation.id != first.conversation.id


async def test_only_a_started_conversation_is_audited() -> None:
    record = FakeRecord()
    world = await build_world(record)
    opened = [await world.service.open_conversation("c-gold", Channel.WIDGET) for _ in range(3)]
    starts = [entry for entry in record.audit_log if entry.action == "conversation.start"]
    assert [(entry.subject, entry.detail) for entry in starts] == [
        (opened[0].conversation.id, {"client_id": "c-gold", "channel": "widget"})
    ]


async def test_after_closing_the_next_open_starts_afresh(world: World) -> None:
    first = await world.service.open_conversation("c-std", Channel.WIDGET)
    await world.service.close(None, first.conversation.id)
    second = await world.service.open_conversation("c-std", Channel.WIDGET)
    assert second.created and second.conversation.id != first.conversation.id
    assert second.conversation.state == ConversationState.BOT


async def test_parallel_opens_give_one_conversation(world: World) -> None:
    results = await asyncio.gather(*(world.service.open_conversation("c-vip", Channel.API) for _ in range(50)))
    assert sum(result.created for result in results) == 1
    assert len({result.conversation.id for result in results}) == 1


async def test_an_unknown_client_is_not_found_and_another_clients_conversation_is_refused(world: World) -> None:
    with pytest.raises(NotFound):
        await world.service.open_conversation("nobody", Channel.API)
    mine = await world.service.open_conversation("c-std", Channel.WIDGET)
    with pytest.raises(Forbidden):
        await world.service.resume_conversation("c-gold", mine.conversation.id)
    assert await world.service.resume_conversation("c-std", mine.conversation.id) == mine.conversation
