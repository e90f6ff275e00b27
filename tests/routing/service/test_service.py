"""Service use cases over memory ports, with the fake record and the SQL record on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.errors import (
    Forbidden,
    IllegalTransition,
    NoCapacity,
    NotFound,
    StaleClaim,
    ValidationFailed,
)
from routing.memory import MemoryPresenceStore, MemoryQueueStore
from routing.models import (
    Channel,
    ConversationState,
    EscalationReason,
    Presence,
    QueueName,
    ResponderStep,
    SenderKind,
    Ticket,
    TicketStatus,
    Tier,
)
from routing.ports import QueueEntry
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import World, build_world

S = ConversationState
ADVISOR, SERVICE = QueueName.ADVISOR, QueueName.SERVICE


async def ticket_of(world: World, ticket_id: str | None) -> Ticket:
    assert ticket_id is not None
    ticket = await world.record.get_ticket(ticket_id)
    assert ticket is not None
    return ticket


async def escalate(
    world: World,
    client_id: str,
    queue: QueueName = ADVISOR,
    text: str = "这只股票能买吗",
    channel: Channel = Channel.WIDGET,
):
    conversation = await world.service.start_conversation(client_id, channel)
    await world.service.record_client_message(conversation.id, text)
    return await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, queue, text)


async def test_unknown_client_and_staff_are_not_found(world: World):
    with pytest.raises(NotFound):
        await world.service.start_conversation("nobody", Channel.WIDGET)
    with pytest.raises(NotFound):
        await world.service.get_conversation("missing")
    with pytest.raises(NotFound):
        await world.service.set_presence("ghost", Presence.ONLINE)
    conversation = await world.service.start_conversation("c-std", Channel.WIDGET)
    with pytest.raises(NotFound):
        await world.service.claim("ghost", conversation.id)
    with pytest.raises(ValidationFailed):
        await world.service.record_client_message(conversation.id, "   ")


async def test_escalation_is_auto_assigned_to_an_online_advisor(world: World):
    await world.online("adv1")
    conversation = await escalate(world, "c-std")
    assert conversation.state == S.WITH_AGENT
    assert conversation.assignee_id == "adv1" and conversation.tier == Tier.ONLINE
    facts = await world.service.client_facts(conversation.id)
    assert facts.serving is not None
    assert (facts.serving.name, facts.serving.practice_number) == ("陈顾问", "S1234567")
    names = [t.name for t in await world.record.list_transitions(conversation.id)]
    assert names == ["escalate_to_queue", "assign"]
    messages = await world.record.list_messages(conversation.id)
    assert any("陈顾问" in m.text and "S1234567" in m.text for m in messages if m.sender == SenderKind.SYSTEM)
    types = [e.kind for e in await world.drain()]
    assert "queued" in types and "agent_joined" in types


async def test_vip_first_then_fifo_and_positions(world: World):
    await world.online("adv1")
    first = await escalate(world, "c-other")  # takes adv1's only slot
    assert first.state == S.WITH_AGENT
    standard = await escalate(world, "c-std")
    world.clock.advance(1)
    gold = await escalate(world, "c-gold")
    world.clock.advance(1)
    vip = await escalate(world, "c-vip")
    assert {standard.state, gold.state, vip.state} == {S.QUEUED}
    order = [item.conversation_id for item in await world.service.queue_view(ADVISOR, "adv1")]
    assert order == [vip.id, gold.id, standard.id]
    facts = await world.service.client_facts(standard.id)
    assert facts.position == 3
    assert facts.estimated_wait_seconds == pytest.approx(3 * 240.0)  # no history yet: the default
    # the agent frees the slot: the VIP is served next
    await world.service.resolve("adv1", first.id)
    assert (await world.service.get_conversation(vip.id)).assignee_id == "adv1"
    assert (await world.service.client_facts(standard.id)).position == 2


async def test_wait_estimate_uses_recent_handle_times(world: World):
    await world.online("adv1")
    first = await escalate(world, "c-other")
    world.clock.advance(60)
    assert await world.service.heartbeat("adv1")
    waiting = await escalate(world, "c-std")
    await world.service.resolve("adv1", first.id)  # handled in 60 s; waiting is now assigned
    world.clock.advance(60)
    assert await world.service.heartbeat("adv1")
    await world.service.resolve("adv1", waiting.id)
    blocker = await escalate(world, "c-gold")
    assert blocker.state == S.WITH_AGENT
    queued = await escalate(world, "c-vip")
    facts = await world.service.client_facts(queued.id)
    assert facts.position == 1
    assert facts.estimated_wait_seconds == pytest.approx(60.0)


async def test_no_staff_online_goes_to_the_responder_or_leave_message(world: World):
    await world.service.set_presence("r1", Presence.ONLINE)
    to_responder = await escalate(world, "c-std")
    assert to_responder.state == S.AWAITING_RESPONDER
    assert (to_responder.assignee_id, to_responder.escalation_reason) == ("r1", EscalationReason.NO_STAFF_ONLINE)
    left = await escalate(world, "c-other")  # r2 is offline
    assert left.state == S.AWAITING_RESPONDER and left.assignee_id == "r2"
    assert [t.name for t in await world.record.list_transitions(left.id)] == ["leave_message"]
    texts = [m.text for m in await world.record.list_messages(left.id)]
    assert any("留言" in text for text in texts)


async def test_off_hours_leave_message_deadline_starts_at_next_opening(world: World):
    world.clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))  # Friday 20:00 in Shanghai
    await world.online("adv1")
    conversation = await escalate(world, "c-std")
    assert conversation.state == S.AWAITING_RESPONDER
    assert conversation.escalation_reason == EscalationReason.OFF_HOURS
    ticket = await ticket_of(world, conversation.ticket_id)
    monday_open = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # 09:00 Shanghai
    assert ticket.responder_deadline == monday_open + timedelta(seconds=600)
    world.clock.advance(3600 * 24)
    assert (await world.service.tick()).ladder_steps == 0


async def test_advice_requests_go_to_advisors_whatever_the_hint(world: World):
    await world.online("adv1", "svc1")
    conversation = await world.service.start_conversation("c-std", Channel.WIDGET)
    after = await world.service.escalate_from_bot(
        conversation.id, EscalationReason.ADVICE_REQUEST, SERVICE, "帮我看看该不该清仓"
    )
    assert after.queue == ADVISOR and after.assignee_id == "adv1"


async def test_classifier_decides_without_a_hint(world: World):
    await world.online("svc1")
    conversation = await world.service.start_conversation("c-std", Channel.WIDGET)
    after = await world.service.escalate_from_bot(conversation.id, EscalationReason.ASKED_HUMAN, None, "怎么修改密码")
    assert after.queue == SERVICE and after.assignee_id == "svc1"


async def test_manual_claim_rules(world: World):
    await world.online("adv1")
    blocker = await escalate(world, "c-other")
    waiting = await escalate(world, "c-std")
    with pytest.raises(Forbidden):
        await world.service.claim("svc1", waiting.id)  # service staff lack the advisor skill
    with pytest.raises(NoCapacity):
        await world.service.claim("adv1", waiting.id)
    with pytest.raises(Forbidden):
        await world.service.claim("r1", waiting.id)
    claimed = await world.service.claim("adv2", waiting.id)
    assert claimed.assignee_id == "adv2" and claimed.state == S.WITH_AGENT
    with pytest.raises(StaleClaim):
        await world.service.claim("both", waiting.id)
    with pytest.raises(NotFound):
        await world.service.claim("both")
    assert await world.presence.load("both") == 0
    assert await world.presence.load("adv2") == 1
    assert blocker.assignee_id == "adv1"


async def test_claim_best_takes_the_highest_priority_head(world: World):
    await world.online("adv1", "svc1")
    await escalate(world, "c-other")
    for client, channel in (("c-other", Channel.API), ("c-gold", Channel.WIDGET)):  # one open per channel
        assert (await escalate(world, client, SERVICE, "怎么开户", channel)).assignee_id == "svc1"
    std = await escalate(world, "c-std", SERVICE, "怎么开户")
    vip = await escalate(world, "c-vip", ADVISOR)
    assert (std.state, vip.state) == (S.QUEUED, S.QUEUED)
    claimed = await world.service.claim("both")
    assert claimed.id == vip.id
    assert (await world.service.claim("both")).id == std.id


async def test_wait_limit_and_responder_ladder(world: World):
    await world.presence.set_presence("adv1", {ADVISOR}, Presence.ONLINE, 86_400)  # stays online throughout
    await escalate(world, "c-other")
    waiting = await escalate(world, "c-std")
    world.clock.advance(299)
    assert (await world.service.tick()).wait_limit_escalations == 0
    world.clock.advance(2)
    report = await world.service.tick()
    assert report.wait_limit_escalations == 1
    conversation = await world.service.get_conversation(waiting.id)
    assert (conversation.state, conversation.assignee_id) == (S.AWAITING_RESPONDER, "r1")
    assert conversation.escalation_reason == EscalationReason.WAIT_LIMIT
    assert await world.queues.location(waiting.ticket_id) is None
    old_ticket = await ticket_of(world, waiting.ticket_id)
    assert old_ticket.status == TicketStatus.ESCALATED
    with pytest.raises(Forbidden):
        await world.service.staff_reply("r2", waiting.id, "我来回答")  # not r2's client, not reached yet
    world.clock.advance(601)
    assert (await world.service.tick()).ladder_steps == 1
    conversation = await world.service.get_conversation(waiting.id)
    assert conversation.assignee_id == "r2"
    ticket = await ticket_of(world, conversation.ticket_id)
    assert ticket.responder_step == ResponderStep.BACKUP
    world.clock.advance(601)
    await world.service.tick()
    conversation = await world.service.get_conversation(waiting.id)
    assert conversation.assignee_id == "dm"
    world.clock.advance(6000)
    assert (await world.service.tick()).ladder_steps == 0  # the duty manager is the last rung
    names = [t.name for t in await world.record.list_transitions(waiting.id)]
    assert names == ["escalate_to_queue", "escalate_to_responder", "responder_reassign", "responder_reassign"]
    # the client's own responder may still answer; the first reply accepts it
    message = await world.service.staff_reply("r1", waiting.id, "您好，我是您的专属响应人")
    assert message.sender == SenderKind.RESPONDER
    assert message.served_by is not None and message.served_by.tier == Tier.RESPONDER
    assert message.served_by.staff_id == "r1"
    conversation = await world.service.get_conversation(waiting.id)
    assert (conversation.state, conversation.assignee_id) == (S.WITH_RESPONDER, "r1")


async def test_resolve_feedback_and_return_to_bot(world: World):
    await world.online("adv1")
    conversation = await escalate(world, "c-std")
    reply = await world.service.staff_reply("adv1", conversation.id, "可以关注一下风险")
    assert reply.served_by is not None and (reply.served_by.tier, reply.served_by.staff_id) == (Tier.ONLINE, "adv1")
    with pytest.raises(Forbidden):
        await world.service.resolve("adv2", conversation.id)
    resolved = await world.service.resolve("adv1", conversation.id)
    assert resolved.state == S.RESOLVED
    assert await world.presence.load("adv1") == 0
    last = (await world.record.list_messages(conversation.id))[-1]
    assert last.payload.get("type") == "feedback_request"
    back = await world.service.client_feedback(conversation.id, resolved=True)
    assert back.state == S.BOT and back.tier == Tier.BOT
    bot = await world.service.record_bot_replies(back.id, [{"text": "还有什么可以帮您？"}])
    assert bot[0].served_by is not None and bot[0].served_by.tier == Tier.BOT


async def test_a_reply_sent_again_with_its_id_is_stored_once(world: World):
    await world.online("adv1")
    await world.online("adv2")
    conversation = await escalate(world, "c-std")
    first = await world.service.staff_reply("adv1", conversation.id, "请稍等", reply_id="r-1")
    again = await world.service.staff_reply("adv1", conversation.id, "请稍等", reply_id="r-1")
    assert again == first
    await world.service.staff_reply("adv1", conversation.id, "请稍等", reply_id="r-2")
    staff_lines = [m for m in await world.record.list_messages(conversation.id) if m.served_by and m.served_by.staff_id]
    assert [m.client_msg_id for m in staff_lines] == ["r-1", "r-2"]
    await world.service.transfer_to_staff("adv1", conversation.id, "adv2")
    with pytest.raises(ValidationFailed):
        await world.service.staff_reply("adv2", conversation.id, "我来", reply_id="r-1")


async def test_client_unresolved_after_tier2_goes_to_tier3(world: World):
    await world.online("adv1")
    conversation = await escalate(world, "c-std")
    await world.service.resolve("adv1", conversation.id)
    after = await world.service.client_feedback(conversation.id, resolved=False)
    assert (after.state, after.assignee_id) == (S.AWAITING_RESPONDER, "r1")
    assert after.escalation_reason == EscalationReason.CLIENT_UNRESOLVED
    await world.service.staff_reply("r1", after.id, "我来处理")
    await world.service.resolve("r1", after.id)
    reopened = await world.service.client_feedback(after.id, resolved=False)  # tier 3 is the last stop
    assert (reopened.state, reopened.assignee_id) == (S.WITH_RESPONDER, "r1")


async def test_client_message_after_resolution_returns_to_bot(world: World):
    await world.online("adv1")
    conversation = await escalate(world, "c-std")
    await world.service.resolve("adv1", conversation.id)
    await world.service.next_question(conversation.id)
    await world.service.record_client_message(conversation.id, "另一个问题")
    assert (await world.service.get_conversation(conversation.id)).state == S.BOT


async def test_bot_is_never_talking_over_a_human(world: World):
    await world.online("adv1")
    conversation = await escalate(world, "c-std")
    with pytest.raises(IllegalTransition):
        await world.service.record_bot_replies(conversation.id, [{"text": "机器人"}])


async def test_mark_unresolved_and_agent_escalation(world: World):
    await world.online("adv1", "adv2")
    first = await escalate(world, "c-std")
    holder = first.assignee_id
    with pytest.raises(Forbidden):
        await world.service.mark_unresolved("adv2" if holder == "adv1" else "adv1", first.id)
    after = await world.service.mark_unresolved(holder, first.id)
    assert after.state == S.AWAITING_RESPONDER and after.escalation_reason == EscalationReason.AGENT_UNRESOLVED
    assert await world.presence.load(holder) == 0
    second = await escalate(world, "c-other")
    escalated = await world.service.escalate_to_responder(second.assignee_id, second.id)
    assert escalated.assignee_id == "r2" and escalated.escalation_reason == EscalationReason.AGENT_ESCALATED


async def test_transfers_respect_skills_and_capacity(world: World):
    await world.online("adv1", "svc1")
    conversation = await escalate(world, "c-std")
    assert conversation.assignee_id == "adv1"
    with pytest.raises(Forbidden):
        await world.service.transfer_to_staff("adv1", conversation.id, "svc1")  # no advisor skill
    with pytest.raises(NoCapacity):
        await world.service.transfer_to_staff("adv1", conversation.id, "adv2")  # offline
    await world.online("adv2")
    moved = await world.service.transfer_to_staff("adv1", conversation.id, "adv2")
    assert moved.assignee_id == "adv2"
    assert (await world.presence.load("adv1"), await world.presence.load("adv2")) == (0, 1)
    to_service = await world.service.transfer_to_queue("adv2", conversation.id, SERVICE)
    assert (to_service.state, to_service.queue, to_service.assignee_id) == (S.WITH_AGENT, SERVICE, "svc1")
    assert await world.presence.load("adv2") == 0
    names = [t.name for t in await world.record.list_transitions(conversation.id)]
    assert names[-3:] == ["transfer_agent", "transfer_queue", "assign"]


async def test_close_from_the_queue_removes_the_ticket(world: World):
    await world.online("adv1")
    await escalate(world, "c-other")
    waiting = await escalate(world, "c-std")
    closed = await world.service.close(None, waiting.id)
    assert closed.state == S.CLOSED
    assert await world.queues.location(waiting.ticket_id) is None
    assert (await ticket_of(world, waiting.ticket_id)).status == TicketStatus.CLOSED
    with pytest.raises(IllegalTransition):
        await world.service.record_client_message(waiting.id, "还在吗")
    with pytest.raises(IllegalTransition):
        await world.service.close(None, waiting.id)
    reopened = await world.service.reopen("admin", waiting.id)
    assert reopened.state == S.BOT


async def test_illegal_moves_change_nothing(world: World):
    conversation = await world.service.start_conversation("c-std", Channel.WIDGET)
    before = await world.service.get_conversation(conversation.id)
    with pytest.raises(IllegalTransition):
        await world.service.resolve("admin", conversation.id)
    with pytest.raises(IllegalTransition):
        await world.service.transfer_to_queue("admin", conversation.id, ADVISOR)
    with pytest.raises(StaleClaim):
        await world.service.claim("adv1", conversation.id)
    after = await world.service.get_conversation(conversation.id)
    assert after == before
    assert await world.record.list_transitions(conversation.id) == []


async def test_access_rules_for_viewing(world: World):
    await world.service.set_presence("r1", Presence.ONLINE)
    mine = await escalate(world, "c-std")
    assert mine.assignee_id == "r1"
    await world.service.get_conversation(mine.id, viewer_id="r1")
    await world.service.get_conversation(mine.id, viewer_id="dm")
    await world.service.get_conversation(mine.id, viewer_id="admin")
    for outsider in ("r2", "adv1"):
        with pytest.raises(Forbidden):
            await world.service.transcript(mine.id, viewer_id=outsider)
    with pytest.raises(Forbidden):
        await world.service.queue_view(SERVICE, "adv1")
    with pytest.raises(Forbidden):
        await world.service.queue_view(ADVISOR, "r1")
    assert await world.service.queue_view(SERVICE, "dm") == []
    inbox = await world.service.staff_conversations("r1")
    assert [c.id for c in inbox] == [mine.id]


async def test_presence_expires_without_heartbeat(world: World):
    await world.online("adv1")
    world.clock.advance(60)
    assert await world.service.heartbeat("adv1")
    world.clock.advance(80)
    assert await world.presence.presence("adv1") == Presence.ONLINE
    world.clock.advance(20)
    assert await world.presence.presence("adv1") == Presence.OFFLINE
    assert not await world.service.heartbeat("adv1")
    conversation = await escalate(world, "c-std")
    assert conversation.state == S.AWAITING_RESPONDER  # leave-a-message: nobody online
    assert conversation.escalation_reason == EscalationReason.NO_STAFF_ONLINE


async def test_a_dead_workers_claim_is_reclaimed(world: World):
    await world.online("adv1")
    await escalate(world, "c-other")
    waiting = await escalate(world, "c-std")
    lease = await world.queues.claim_head(ADVISOR, "dead-worker:adv2", 30)
    assert lease is not None and lease.entry.ticket_id == waiting.ticket_id
    await world.online("adv2")
    assert (await world.service.get_conversation(waiting.id)).state == S.QUEUED  # nothing to assign
    world.clock.advance(31)
    report = await world.service.tick()
    assert (report.reclaimed, report.assigned) == (1, 1)
    assert (await world.service.get_conversation(waiting.id)).assignee_id == "adv2"


async def test_rebuild_queues_after_a_flush(world: World):
    await world.online("adv1")
    await escalate(world, "c-other")
    queued = [await escalate(world, client) for client in ("c-std", "c-gold", "c-vip")]
    before = [entry.ticket_id for entry in await world.queues.entries(ADVISOR)]
    world.service.queues = world.queues = MemoryQueueStore(world.clock)
    world.service.presence = world.presence = MemoryPresenceStore(world.clock)
    assert await world.service.rebuild_queues() == 3
    assert [entry.ticket_id for entry in await world.queues.entries(ADVISOR)] == before
    assert await world.presence.load("adv1") == 1
    assert await world.service.rebuild_queues() == 0
    assert {c.ticket_id for c in queued} == set(before)


async def test_stale_queue_entries_are_dropped_on_claim(world: World):
    await world.online("adv1")
    await escalate(world, "c-other")
    waiting = await escalate(world, "c-std")
    await world.service.close(None, waiting.id)
    await world.queues.enqueue(QueueEntry(waiting.ticket_id, waiting.id, ADVISOR, 0, waiting.updated_at))
    with pytest.raises(NotFound):
        await world.service.claim("adv2")
    assert await world.queues.location(waiting.ticket_id) is None
    assert await world.presence.load("adv2") == 0


async def test_audit_log_records_staff_actions():
    record = FakeRecord()  # the Record port has no audit reader; the fake exposes its log
    world = await build_world(record)
    await world.online("adv1")
    conversation = await escalate(world, "c-std")
    await world.service.resolve("adv1", conversation.id)
    actions = [(a.actor, a.action) for a in record.audit_log]
    assert ("adv1", "transition.resolve") in actions
    assert ("adv1", "presence") in actions


async def test_a_client_without_a_known_responder_reaches_the_duty_manager(world: World):
    conversation = await escalate(world, "c-orphan")  # nobody online, responder unknown
    assert (conversation.state, conversation.assignee_id) == (S.AWAITING_RESPONDER, "dm")
    ticket = await ticket_of(world, conversation.ticket_id)
    assert ticket.responder_step == ResponderStep.DUTY_MANAGER
