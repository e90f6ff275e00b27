"""The ladder: responder, backup, duty manager; first-reply deadlines from the next opening; the wait limit."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from routing.errors import NoCapacity
from routing.events import Escalated
from routing.models import ConversationState, EscalationReason, QueueName, ResponderStep, TicketStatus, Tier
from routing.service.journal import SYSTEM_ACTOR
from tests.routing.service.parts import Parts, build_parts
from tests.routing.service_world import SETTINGS


@pytest.fixture
async def parts() -> Parts:
    return await build_parts()


async def test_target_walks_responder_backup_duty_manager(parts: Parts) -> None:
    client = await parts.lookups.client("c-std")  # responder r1, backup r2, branch duty manager dm
    assert [(step, person.id) for step, person in [await parts.ladder.target(client, ResponderStep.RESPONDER)]] == [
        (ResponderStep.RESPONDER, "r1")
    ]
    step, person = await parts.ladder.target(client, ResponderStep.RESPONDER, skip="r1")
    assert (step, person.id) == (ResponderStep.BACKUP, "r2")
    step, person = await parts.ladder.target(client, ResponderStep.BACKUP, skip="r2")
    assert (step, person.id) == (ResponderStep.DUTY_MANAGER, "dm")
    orphan = await parts.lookups.client("c-orphan")
    assert (await parts.ladder.first_rung(orphan)).id == "dm"
    with pytest.raises(NoCapacity):
        await parts.ladder.target(dataclasses.replace(orphan, branch="nowhere"), ResponderStep.RESPONDER)


async def test_hand_over_opens_a_tier3_ticket_and_retires_the_tier2_one(parts: Parts) -> None:
    queued = await parts.queued()
    client = await parts.lookups.client("c-std")
    after = await parts.ladder.hand_over(queued, client, SYSTEM_ACTOR, EscalationReason.WAIT_LIMIT, prefix="久等了。")
    assert (after.state, after.tier, after.assignee_id) == (ConversationState.AWAITING_RESPONDER, Tier.RESPONDER, "r1")
    assert await parts.queues.length(QueueName.ADVISOR) == 0
    old = parts.record.tickets[queued.ticket_id or ""]
    new = parts.record.tickets[after.ticket_id or ""]
    assert old.status == TicketStatus.ESCALATED
    assert (new.tier, new.status, new.assigned_to, new.responder_step, new.question) == (
        Tier.RESPONDER,
        TicketStatus.ASSIGNED,
        "r1",
        ResponderStep.RESPONDER,
        old.question,
    )
    assert new.responder_deadline == parts.clock.now() + timedelta(seconds=SETTINGS.responder_limit_seconds)
    [escalated] = [e for e in await parts.drain() if isinstance(e, Escalated)]
    assert (escalated.staff_id, escalated.reason, escalated.leave_message) == ("r1", "wait_limit", False)


async def test_a_left_message_is_due_from_the_next_opening(parts: Parts) -> None:
    parts.clock.set(datetime(2026, 3, 6, 12, 0, tzinfo=UTC))  # Friday 20:00 in Shanghai: closed
    conversation = await parts.conversation()
    client = await parts.lookups.client("c-std")
    after = await parts.ladder.hand_over(
        conversation, client, SYSTEM_ACTOR, EscalationReason.OFF_HOURS, "问题", leave_message=True
    )
    ticket = parts.record.tickets[after.ticket_id or ""]
    monday_opening = datetime(2026, 3, 9, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    assert ticket.responder_deadline == monday_opening + timedelta(seconds=SETTINGS.responder_limit_seconds)
    assert parts.record.messages[after.id][-1].payload["type"] == "leave_message"


async def test_an_unanswered_rung_hands_over_to_the_next(parts: Parts) -> None:
    conversation = await parts.conversation()
    client = await parts.lookups.client("c-std")
    await parts.ladder.hand_over(conversation, client, SYSTEM_ACTOR, EscalationReason.NO_STAFF_ONLINE, "问题")
    assert await parts.ladder.advance_overdue() == 0  # not due yet
    parts.clock.advance(SETTINGS.responder_limit_seconds)
    assert await parts.ladder.advance_overdue() == 1
    moved = await parts.lookups.conversation(conversation.id)
    assert (moved.assignee_id, moved.escalation_reason) == ("r2", EscalationReason.RESPONDER_TIMEOUT)
    parts.clock.advance(SETTINGS.responder_limit_seconds)
    assert await parts.ladder.advance_overdue() == 1
    assert (await parts.lookups.conversation(conversation.id)).assignee_id == "dm"
    parts.clock.advance(SETTINGS.responder_limit_seconds)
    assert await parts.ladder.advance_overdue() == 0  # the duty manager is the last rung
    steps = [e.step for e in await parts.drain() if isinstance(e, Escalated) and e.step]
    assert steps == ["backup", "duty_manager"]


async def test_the_wait_limit_hands_over_only_the_overdue(parts: Parts) -> None:
    old = await parts.queued("c-std")
    parts.clock.advance(SETTINGS.tier2_wait_limit_seconds - 1)
    young = await parts.queued("c-gold")
    parts.clock.advance(1)
    assert await parts.ladder.apply_wait_limit() == 1
    assert (await parts.lookups.conversation(old.id)).state == ConversationState.AWAITING_RESPONDER
    assert (await parts.lookups.conversation(young.id)).state == ConversationState.QUEUED
    assert await parts.ladder.apply_wait_limit() == 0
