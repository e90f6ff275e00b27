"""The journal records every move compare-and-set, audits it, and publishes what the channels hear."""

from __future__ import annotations

import dataclasses

import pytest

from routing.errors import IllegalTransition, StaleConversation
from routing.events import MessageAdded, Resolved
from routing.models import ConversationState, QueueName, SenderKind, ServedBy, TicketStatus, Tier
from routing.service.journal import CLIENT_ACTOR
from routing.state_machine import TransitionName
from tests.routing.service.parts import Parts, build_parts


@pytest.fixture
async def parts() -> Parts:
    return await build_parts()


async def test_opening_a_conversation_stores_and_audits_it(parts: Parts) -> None:
    conversation = await parts.conversation()
    assert await parts.record.get_conversation(conversation.id) == conversation
    assert [(a.actor, a.action, a.detail) for a in parts.record.audit_log] == [
        (CLIENT_ACTOR, "conversation.start", {"client_id": "c-std", "channel": "widget"})
    ]


async def test_opening_again_returns_the_open_conversation_and_audits_nothing(parts: Parts) -> None:
    conversation = await parts.conversation()
    second = dataclasses.replace(conversation, id="conv-second")
    assert await parts.journal.open_conversation(second) == (conversation, False)
    assert await parts.record.get_conversation("conv-second") is None
    assert len(parts.record.audit_log) == 1


async def test_a_move_is_saved_with_its_transition_and_audit_entry(parts: Parts) -> None:
    queued = await parts.queued()
    assert queued.state == ConversationState.QUEUED and queued.version == 1
    assert await parts.record.get_conversation(queued.id) == queued
    [transition] = parts.record.transitions[queued.id]
    assert (transition.name, transition.from_state, transition.to_state) == (
        "escalate_to_queue",
        ConversationState.BOT,
        ConversationState.QUEUED,
    )
    entry = parts.record.audit_log[-1]
    assert entry.action == "transition.escalate_to_queue"
    assert entry.detail == {
        "from": "bot",
        "to": "queued",
        "tier": int(Tier.ONLINE),
        "reason": "low_score",
        "assignee_id": None,
        "queue": "advisor",
    }


async def test_an_outdated_copy_or_an_illegal_move_is_refused(parts: Parts) -> None:
    conversation = await parts.conversation()
    await parts.journal.move(
        conversation, TransitionName.ESCALATE_TO_QUEUE, "system", "x", queue=QueueName.SERVICE, ticket_id="t"
    )
    with pytest.raises(StaleConversation):
        await parts.journal.move(
            conversation, TransitionName.ESCALATE_TO_QUEUE, "system", "x", queue=QueueName.SERVICE, ticket_id="t"
        )
    with pytest.raises(IllegalTransition):
        await parts.journal.move(conversation, TransitionName.RESOLVE, "system", "x")
    assert len(parts.record.transitions[conversation.id]) == 1


async def test_appended_messages_are_published_with_who_served(parts: Parts) -> None:
    conversation = await parts.conversation()
    served = ServedBy(Tier.ONLINE, "adv1", parts.clock.now())
    message = await parts.journal.append(conversation.id, SenderKind.AGENT, "您好", None, served)
    notice = await parts.journal.tell_client(conversation.id, "稍等", type="queued", position=2)
    assert (message.seq, notice.seq, notice.sender, notice.payload) == (
        1,
        2,
        SenderKind.SYSTEM,
        {"type": "queued", "position": 2},
    )
    published = [e for e in await parts.drain() if isinstance(e, MessageAdded)]
    assert [(e.seq, e.sender, e.served_tier, e.staff_id) for e in published] == [
        (1, "agent", int(Tier.ONLINE), "adv1"),
        (2, "system", None, None),
    ]


async def test_events_go_out_as_given(parts: Parts) -> None:
    await parts.journal.publish(Resolved("c1", "adv1"))
    assert await parts.drain() == [Resolved("c1", "adv1")]


async def test_tickets_are_patched_and_retired_only_while_live(parts: Parts) -> None:
    queued = await parts.queued()
    assert queued.ticket_id is not None
    await parts.journal.patch_ticket(queued.ticket_id, status=TicketStatus.RESOLVED)
    await parts.journal.patch_ticket(None, status=TicketStatus.OPEN)  # no ticket: nothing to do
    resolved = await parts.record.get_ticket(queued.ticket_id)
    assert resolved is not None and resolved.status == TicketStatus.RESOLVED
    await parts.journal.retire_ticket(resolved, TicketStatus.CLOSED)
    assert parts.record.tickets[queued.ticket_id].status == TicketStatus.RESOLVED  # finished: kept
    await parts.journal.save_ticket(dataclasses.replace(resolved, status=TicketStatus.ASSIGNED))
    await parts.journal.retire_ticket(parts.record.tickets[queued.ticket_id], TicketStatus.ESCALATED)
    assert parts.record.tickets[queued.ticket_id].status == TicketStatus.ESCALATED


async def test_feedback_is_stored_against_whoever_serves_and_audited(parts: Parts) -> None:
    queued = await parts.queued()
    await parts.journal.record_feedback(queued, resolved=False)
    [feedback] = parts.record.feedback
    assert (feedback.conversation_id, feedback.ticket_id, feedback.tier, feedback.resolved) == (
        queued.id,
        queued.ticket_id,
        Tier.ONLINE,
        False,
    )
    assert parts.record.audit_log[-1].action == "feedback"
