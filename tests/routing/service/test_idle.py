"""Idle agents: a client left unanswered by the agent holding the conversation is warned about once, then
requeued at the old place (or sent to tier 3), and the agent is set away. Fake record and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from routing.events import IdleWarning, PresenceChanged
from routing.models import Channel, Conversation, ConversationState, EscalationReason, Message, Presence, QueueName
from routing.models import SenderKind as K
from routing.service.idle import waiting_since
from routing.settings import RoutingSettings
from routing.sql_record import SqlRecord, create_engine_for
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import SETTINGS, World, build_world

S = ConversationState
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
WARNING, LIMIT = 40, 60
IDLE_SETTINGS = SETTINGS.model_copy(update={"agent_idle_warning_seconds": WARNING, "agent_idle_limit_seconds": LIMIT})


def said(sender: K, seconds: float, seq: int = 1) -> Message:
    return Message(f"m{seq}", "c1", seq, sender, "…", T0 + timedelta(seconds=seconds))


def test_the_client_waits_from_their_first_unanswered_message_or_from_the_claim() -> None:
    claim = T0 + timedelta(seconds=10)
    before_claim = said(K.CLIENT, 0)
    assert waiting_since([before_claim], claim) == claim  # the agent has not written since the claim
    answered = [before_claim, said(K.AGENT, 20), said(K.SYSTEM, 25)]
    assert waiting_since(answered, claim) is None  # the agent answered last: nobody waits for them
    asked_again = [*answered, said(K.CLIENT, 30), said(K.CLIENT, 50)]
    assert waiting_since(asked_again, claim) == T0 + timedelta(seconds=30)
    old_agent = [said(K.AGENT, 5), said(K.CLIENT, 8)]  # a colleague's answer before a transfer does not count
    assert waiting_since(old_agent, claim) == claim


def test_the_warning_must_come_before_the_limit() -> None:
    with pytest.raises(ValueError, match="below"):
        RoutingSettings(agent_idle_warning_seconds=60, agent_idle_limit_seconds=60)
    assert RoutingSettings(agent_idle_warning_seconds=60, agent_idle_limit_seconds=0).agent_idle_limit_seconds == 0


@pytest.fixture(params=["fake", "sql"])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    if request.param == "fake":
        yield await build_world(FakeRecord(), IDLE_SETTINGS)
        return
    engine = create_engine_for(request.getfixturevalue("migrated_database_url"))
    try:
        yield await build_world(SqlRecord(engine), IDLE_SETTINGS)
    finally:
        await engine.dispose()


async def escalated(world: World, client_id: str) -> Conversation:
    conversation = await world.service.start_conversation(client_id, Channel.WIDGET)
    await world.service.record_client_message(conversation.id, "这只股票能买吗")
    return await world.service.escalate_from_bot(
        conversation.id, EscalationReason.LOW_SCORE, QueueName.ADVISOR, "这只股票能买吗"
    )


async def served_by_adv1(world: World, client_id: str = "c-std") -> Conversation:
    world.clock.set(T0)
    await world.online("adv1")
    served = await escalated(world, client_id)
    assert served.assignee_id == "adv1"
    return served


async def later(world: World, seconds: float, *online: str) -> None:
    world.clock.advance(seconds)
    for staff_id in online:
        assert await world.service.heartbeat(staff_id)


async def test_an_agent_is_warned_once_then_the_client_is_requeued_at_the_old_place(world: World) -> None:
    served = await served_by_adv1(world)
    ticket = await world.record.get_ticket(served.ticket_id or "")
    await world.online("adv2")
    for client_id in ("c-gold", "c-other"):  # adv2 is online but full (and answers): the conversation must wait
        theirs = await escalated(world, client_id)
        assert theirs.assignee_id == "adv2"
        await world.service.staff_reply("adv2", theirs.id, "您好")
    await later(world, WARNING - 1, "adv1", "adv2")
    assert (await world.service.tick()).idle_warned == 0
    await later(world, 2, "adv1", "adv2")
    assert (await world.service.tick()).idle_warned == 1
    assert (await world.service.tick()).idle_warned == 0  # once per wait
    warnings = [e for e in await world.drain() if isinstance(e, IdleWarning)]
    assert warnings == [IdleWarning(served.id, "adv1", LIMIT - WARNING - 1)]

    await later(world, LIMIT - WARNING, "adv1", "adv2")
    report = await world.service.tick()
    assert (report.idle_given_back, report.given_back) == (1, 0)
    after = await world.service.get_conversation(served.id)
    assert (after.state, after.assignee_id, after.queue) == (S.QUEUED, None, QueueName.ADVISOR)
    requeued = await world.record.get_ticket(after.ticket_id or "")
    assert ticket is not None and requeued is not None
    assert (requeued.enqueued_at, requeued.priority, requeued.assigned_to) == (
        ticket.enqueued_at,
        ticket.priority,
        None,
    )
    told = [m.text for m in await world.record.list_messages(served.id) if m.sender == K.SYSTEM][-1]
    assert "暂时未能回复" in told and "保留原排队时间" in told
    assert await world.presence.presence("adv1") == Presence.AWAY  # nothing new is assigned to them
    assert PresenceChanged("adv1", "away") in await world.drain()
    assert await world.presence.load("adv1") == 0


async def test_an_answer_resets_the_wait_and_nobody_else_online_means_tier_3(world: World) -> None:
    served = await served_by_adv1(world)
    await later(world, WARNING + 1, "adv1")
    await world.service.staff_reply("adv1", served.id, "您好，请问您关注的是哪只股票？")
    await later(world, LIMIT, "adv1")
    assert (await world.service.tick()).idle_given_back == 0  # the agent answered; the client has not written
    await world.service.record_client_message(served.id, "贵州茅台")
    await later(world, LIMIT - 1, "adv1")
    assert (await world.service.tick()).idle_given_back == 0
    await later(world, 1, "adv1")
    assert (await world.service.tick()).idle_given_back == 1
    after = await world.service.get_conversation(served.id)
    assert (after.state, after.assignee_id) == (S.AWAITING_RESPONDER, "r1")  # nobody else of tier 2 online
    told = [m.text for m in await world.record.list_messages(served.id) if m.sender == K.SYSTEM]
    assert any("暂时未能回复" in text for text in told)


async def test_without_limits_nothing_is_checked() -> None:
    quiet = SETTINGS.model_copy(update={"agent_idle_warning_seconds": 0, "agent_idle_limit_seconds": 0})
    world = await build_world(FakeRecord(), quiet)
    served = await served_by_adv1(world)
    await later(world, 80, "adv1")
    report = await world.service.tick()
    assert (report.idle_warned, report.idle_given_back) == (0, 0)
    assert (await world.service.get_conversation(served.id)).assignee_id == "adv1"
