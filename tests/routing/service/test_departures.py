"""Departures: an agent who goes offline or whose heartbeat lapses gives their conversations back."""

from __future__ import annotations

from routing.models import Channel, Conversation, ConversationState, EscalationReason, Presence, QueueName, SenderKind
from tests.routing.service_world import SETTINGS, World

S = ConversationState
ADVISOR = QueueName.ADVISOR


async def escalate(world: World, client_id: str) -> Conversation:
    conversation = await world.service.start_conversation(client_id, Channel.WIDGET)
    await world.service.record_client_message(conversation.id, "这只股票能买吗")
    return await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, ADVISOR, "这只股票能买吗")


async def last_system_text(world: World, conversation_id: str) -> str:
    messages = await world.record.list_messages(conversation_id)
    return [m for m in messages if m.sender == SenderKind.SYSTEM][-1].text


async def test_going_offline_requeues_at_the_old_place_vip_first(world: World) -> None:
    await world.online("adv2", "both")  # adv2 takes 2, both takes 3
    await world.presence.set_load("both", 3)  # both is busy: whatever adv2 gives back must wait
    first = await escalate(world, "c-std")
    world.clock.advance(10)
    vip = await escalate(world, "c-vip")
    world.clock.advance(10)
    waiting = await escalate(world, "c-other")  # adv2 is full: this one waits
    assert (first.assignee_id, vip.assignee_id, waiting.state) == ("adv2", "adv2", S.QUEUED)
    tickets = {c.id: await world.record.get_ticket(c.ticket_id or "") for c in (first, vip)}
    world.clock.advance(60)
    await world.service.set_presence("adv2", Presence.OFFLINE)
    entries = await world.service.queues.entries(ADVISOR)
    assert [e.conversation_id for e in entries] == [vip.id, first.id, waiting.id]  # VIP first, then by old time
    for conversation in (first, vip):
        after = await world.service.get_conversation(conversation.id)
        assert (after.state, after.assignee_id, after.queue) == (S.QUEUED, None, ADVISOR)
        ticket = await world.record.get_ticket(after.ticket_id or "")
        before = tickets[conversation.id]
        assert ticket is not None and before is not None
        assert (ticket.enqueued_at, ticket.priority, ticket.assigned_to) == (before.enqueued_at, before.priority, None)
        assert "已离线" in await last_system_text(world, conversation.id)
        assert "保留原排队时间" in await last_system_text(world, conversation.id)
    assert await world.presence.load("adv2") == 0


async def test_a_lapsed_heartbeat_gives_back_on_the_next_tick_to_whoever_is_online(world: World) -> None:
    await world.online("adv1")
    served = await escalate(world, "c-std")
    assert served.assignee_id == "adv1"
    world.clock.advance(SETTINGS.presence_ttl_seconds / 2)
    await world.online("adv2")  # adv2 keeps their presence alive, adv1 stops sending heartbeats
    world.clock.advance(SETTINGS.presence_ttl_seconds / 2 + 1)
    report = await world.service.tick()
    assert report.given_back == 1
    after = await world.service.get_conversation(served.id)
    assert (after.state, after.assignee_id) == (S.WITH_AGENT, "adv2")
    assert await world.presence.loads(["adv1", "adv2"]) == {"adv1": 0, "adv2": 1}
    assert (await world.service.tick()).given_back == 0


async def test_nobody_else_online_sends_it_to_the_responder(world: World) -> None:
    await world.online("adv1")
    served = await escalate(world, "c-std")
    await world.service.set_presence("adv1", Presence.OFFLINE)
    after = await world.service.get_conversation(served.id)
    assert (after.state, after.assignee_id) == (S.AWAITING_RESPONDER, "r1")
    assert "已离线" in await last_system_text(world, served.id)
    assert await world.presence.load("adv1") == 0
    assert await world.service.queues.entries(ADVISOR) == []


async def test_away_keeps_the_conversations(world: World) -> None:
    await world.online("adv1")
    served = await escalate(world, "c-std")
    await world.service.set_presence("adv1", Presence.AWAY)
    assert (await world.service.tick()).given_back == 0
    assert (await world.service.get_conversation(served.id)).assignee_id == "adv1"


async def test_a_claim_while_offline_makes_one_away_so_the_next_tick_keeps_it(world: World) -> None:
    await world.online("adv2")
    await world.presence.set_load("adv2", 2)  # adv2 is full: the escalation waits for a claim
    waiting = await escalate(world, "c-std")
    assert waiting.state == S.QUEUED
    assert await world.presence.presence("adv1") == Presence.OFFLINE
    claimed = await world.service.claim("adv1", waiting.id)
    assert claimed.assignee_id == "adv1"
    assert await world.presence.presence("adv1") == Presence.AWAY  # present, yet given nothing automatically
    assert (await world.service.tick()).given_back == 0
    assert (await world.service.get_conversation(waiting.id)).assignee_id == "adv1"
