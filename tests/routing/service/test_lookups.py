"""Lookups: NotFound for unknown ids, None from the find_* reads, staff cached briefly."""

from __future__ import annotations

import dataclasses

import pytest

from routing.errors import NotFound
from routing.models import SenderKind
from routing.service.lookups import Lookups
from tests.routing.service.parts import Parts, build_parts


@pytest.fixture
async def parts() -> Parts:
    return await build_parts()


async def test_unknown_ids(parts: Parts) -> None:
    lookups = parts.lookups
    for read in (lookups.conversation, lookups.staff, lookups.client):
        with pytest.raises(NotFound):
            await read("missing")
    assert await lookups.find_conversation("missing") is None
    assert await lookups.find_staff("missing") is None
    assert await lookups.find_staff(None) is None
    assert await lookups.ticket(None) is None
    assert await lookups.last_client_text("missing") == ""


async def test_staff_is_cached_but_find_staff_reads_fresh(parts: Parts) -> None:
    lookups = Lookups(parts.record)
    before = await lookups.staff("adv1")
    renamed = dataclasses.replace(before, name="新名字")
    await parts.record.replace_staff([renamed])
    assert (await lookups.staff("adv1")).name == before.name
    assert await lookups.find_staff("adv1") == renamed


async def test_client_of_and_last_client_text(parts: Parts) -> None:
    conversation = await parts.conversation("c-vip")
    assert (await parts.lookups.client_of(conversation)).id == "c-vip"
    await parts.journal.append(conversation.id, SenderKind.CLIENT, "第一句")
    await parts.journal.append(conversation.id, SenderKind.BOT, "答")
    await parts.journal.append(conversation.id, SenderKind.CLIENT, "第二句")
    assert await parts.lookups.last_client_text(conversation.id) == "第二句"
