"""Showing a client's conversation to staff is audited: every open, re-reads once per window; and the
audit log names the staff actions (transfers, resolves, escalations) and keeps one valid chain."""

from __future__ import annotations

import pytest

from routing.audit import AuditAction
from routing.errors import Forbidden
from routing.models import Channel, EscalationReason, QueueName
from routing.service.views import READ_AUDIT_WINDOW_SECONDS
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import World, build_world


@pytest.fixture
async def world() -> World:
    return await build_world(FakeRecord())


def log_of(world: World) -> FakeRecord:
    assert isinstance(world.record, FakeRecord)
    return world.record


def views(world: World) -> list[tuple[str, str, str]]:
    return [
        (entry.actor, entry.action, entry.subject)
        for entry in log_of(world).audit_log
        if entry.action in {AuditAction.CONVERSATION_OPEN, AuditAction.CONVERSATION_READ}
    ]


async def served_conversation(world: World, client_id: str = "c-std") -> str:
    """A tier-2 conversation adv1 serves."""
    await world.online("adv1")
    conversation = await world.service.start_conversation(client_id, Channel.WIDGET)
    await world.service.record_client_message(conversation.id, "基金怎么买")
    await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, QueueName.ADVISOR, "基金怎么买")
    return conversation.id


async def test_every_open_is_audited_with_who_and_whose(world: World) -> None:
    conversation_id = await served_conversation(world)
    await world.service.conversation_view("adv1", conversation_id, opened=True)
    await world.service.conversation_view("adv1", conversation_id, opened=True)
    assert views(world) == [("adv1", "conversation.open", conversation_id)] * 2
    entry = log_of(world).audit_log[-1]
    assert entry.detail == {"client_id": "c-std", "state": "with_agent", "tier": 2, "holder": "adv1"}


async def test_re_reads_after_an_open_are_quiet_until_the_window_ends(world: World) -> None:
    conversation_id = await served_conversation(world)
    await world.service.conversation_view("adv1", conversation_id, opened=True)
    for _ in range(5):  # the console refreshing the open conversation
        await world.service.conversation_view("adv1", conversation_id)
    assert len(views(world)) == 1
    world.clock.advance(READ_AUDIT_WINDOW_SECONDS + 1)
    await world.service.conversation_view("adv1", conversation_id)
    await world.service.conversation_view("adv1", conversation_id)
    assert views(world)[1:] == [("adv1", "conversation.read", conversation_id)]


async def test_a_read_without_an_open_is_still_audited_once_per_viewer(world: World) -> None:
    conversation_id = await served_conversation(world)
    await world.service.conversation_view("r1", conversation_id)  # the client's responder
    await world.service.conversation_view("r1", conversation_id)
    await world.service.conversation_view("admin", conversation_id)
    assert views(world) == [
        ("r1", "conversation.read", conversation_id),
        ("admin", "conversation.read", conversation_id),
    ]


async def test_a_refused_view_is_not_recorded_as_seen(world: World) -> None:
    conversation_id = await served_conversation(world)
    with pytest.raises(Forbidden):
        await world.service.conversation_view("svc1", conversation_id, opened=True)  # not the advisor queue
    assert views(world) == []


async def test_transfers_resolves_and_escalations_are_in_one_valid_chain(world: World) -> None:
    await world.online("adv2", "svc1")
    conversation_id = await served_conversation(world)
    await world.service.transfer_to_staff("adv1", conversation_id, "adv2")
    await world.service.transfer_to_queue("adv2", conversation_id, QueueName.SERVICE)
    await world.service.resolve("svc1", conversation_id)
    await world.service.client_feedback(conversation_id, False)
    await world.service.audit("adv1", AuditAction.STAFF_LOGIN, "staff:adv1", {"via": "password"})
    actions = [(entry.actor, entry.action) for entry in log_of(world).audit_log]
    for expected in [
        ("client", AuditAction.CONVERSATION_START),
        ("system", AuditAction.ESCALATE_TO_QUEUE),
        ("adv1", AuditAction.TRANSFER_TO_STAFF),
        ("adv2", AuditAction.TRANSFER_TO_QUEUE),
        ("svc1", AuditAction.RESOLVE),
        ("client", AuditAction.ESCALATE_TO_RESPONDER),
        ("adv1", AuditAction.STAFF_LOGIN),
    ]:
        assert expected in actions, expected
    report = log_of(world).audit_chain()
    assert report.ok and report.count == len(actions)


async def escalated(world: World, client_id: str, channel: Channel = Channel.WIDGET) -> str:
    conversation = await world.service.start_conversation(client_id, channel)
    await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, QueueName.ADVISOR, "基金怎么买")
    return conversation.id


async def test_queue_loads_count_the_waiting_the_oldest_wait_and_the_online_staff(world: World) -> None:
    await world.online("adv1", "both")  # adv1 takes one conversation, "both" (advisor and service) three
    for client_id in ("c-std", "c-gold", "c-other", "c-orphan"):
        await escalated(world, client_id)
    await escalated(world, "c-std", Channel.WECOM)  # the fifth waits
    world.clock.advance(20)
    await escalated(world, "c-vip")  # VIP first: the head of the queue, not its oldest
    world.clock.advance(10)
    advisor, service = await world.service.queue_loads()
    assert (advisor.queue, service.queue) == (QueueName.ADVISOR, QueueName.SERVICE)
    assert (advisor.waiting, advisor.oldest_wait_seconds) == (2, 30.0)
    assert (advisor.staff_online, advisor.load, advisor.capacity) == (2, 4, 4)
    assert (service.waiting, service.oldest_wait_seconds) == (0, 0.0)
    assert (service.staff_online, service.load, service.capacity) == (1, 3, 3)
