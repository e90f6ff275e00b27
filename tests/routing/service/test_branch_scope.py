"""A duty manager oversees their own branch's clients: their queues' lines, live conversations, transcripts and
the actions a supervisor may take; an admin oversees every branch. Runs on the fake record and on SQLite."""

from __future__ import annotations

import pytest

from routing.errors import Forbidden
from routing.models import Channel, EscalationReason, QueueName
from tests.routing.service_world import World, add_other_branch


async def waiting(world: World, client_id: str) -> str:
    """A conversation of the client's waiting in the service queue (nobody serves it yet)."""
    conversation = await world.service.start_conversation(client_id, Channel.WIDGET)
    await world.service.record_client_message(conversation.id, "怎么开户")
    await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, QueueName.SERVICE, "怎么开户")
    return conversation.id


@pytest.fixture
async def branches(world: World) -> World:
    """Two branches, and svc1 online but full (two clients of sh01), so escalations wait in the service queue."""
    await add_other_branch(world)
    await world.online("svc1")
    for client in ("c-vip", "c-orphan"):
        await waiting(world, client)
    return world


async def test_a_duty_manager_sees_their_branch_in_a_queue_at_its_true_place(branches: World) -> None:
    world = branches
    for client in ("c-std", "c-bj", "c-gold", "c-other"):
        await waiting(world, client)
    firm = await world.service.queue_view(QueueName.SERVICE, "admin")
    beijing = await world.service.queue_view(QueueName.SERVICE, "dm-bj")
    shanghai = await world.service.queue_view(QueueName.SERVICE, "dm")
    bj_position = next(item.position for item in firm if item.client_id == "c-bj")
    assert [(item.client_id, item.position) for item in beijing] == [("c-bj", bj_position)]
    assert "c-bj" not in {item.client_id for item in shanghai}
    assert len(shanghai) == len(firm) - 1
    assert len(await world.service.queue_view(QueueName.SERVICE, "svc1")) == len(firm)  # tier 2 serves the firm


async def test_a_duty_manager_opens_and_lists_only_their_branch_conversations(branches: World) -> None:
    world = branches
    shanghai = await waiting(world, "c-std")
    beijing = await waiting(world, "c-bj")
    await world.service.conversation_view("dm-bj", beijing)
    with pytest.raises(Forbidden):
        await world.service.conversation_view("dm-bj", shanghai)
    with pytest.raises(Forbidden):
        await world.service.transcript(shanghai, viewer_id="dm-bj")
    await world.service.conversation_view("admin", beijing)
    for conversation_id in (shanghai, beijing):  # to tier 3: awaiting r1 and r-bj
        await world.service.escalate_to_responder("admin", conversation_id)

    async def live(staff_id: str) -> set[str]:
        return {c.id for c in await world.service.staff_conversations(staff_id)}

    assert {shanghai, beijing} <= await live("admin")
    assert await live("dm-bj") == {beijing}
    assert shanghai in await live("dm") and beijing not in await live("dm")


async def test_a_duty_manager_acts_only_on_their_branch_conversations(branches: World) -> None:
    world = branches
    shanghai = await waiting(world, "c-std")
    beijing = await waiting(world, "c-bj")
    with pytest.raises(Forbidden):
        await world.service.escalate_to_responder("dm-bj", shanghai)
    with pytest.raises(Forbidden):
        await world.service.transfer_to_queue("dm-bj", shanghai, QueueName.ADVISOR)
    moved = await world.service.transfer_to_queue("dm-bj", beijing, QueueName.ADVISOR)
    assert moved.queue == QueueName.ADVISOR
    escalated = await world.service.escalate_to_responder("dm", shanghai)
    assert escalated.assignee_id == "r1"
    with pytest.raises(Forbidden):
        await world.service.close("dm-bj", shanghai)
    await world.service.close("admin", shanghai)
