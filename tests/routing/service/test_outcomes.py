"""Outcomes: resolve, escalate, reopen and close keep the slots, the tickets and the client in step."""

from __future__ import annotations

import pytest

from routing import texts
from routing.errors import NoCapacity
from routing.events import Closed, PositionChanged, Reopened, Resolved
from routing.models import Conversation, ConversationState, EscalationReason, QueueName, TicketStatus
from routing.service.journal import CLIENT_ACTOR
from routing.service.outcomes import Outcomes
from tests.routing.service.parts import Parts, build_parts

S = ConversationState


@pytest.fixture
async def parts() -> Parts:
    return await build_parts()


def outcomes_of(parts: Parts) -> Outcomes:
    return Outcomes(parts.lookups, parts.journal, parts.assigner, parts.ladder)


async def served_by_adv1(parts: Parts, client_id: str = "c-std") -> Conversation:
    await parts.online("adv1")
    queued = await parts.queued(client_id)
    await parts.assigner.auto_assign(QueueName.ADVISOR)
    return await parts.lookups.conversation(queued.id)


async def test_a_resolve_frees_the_slot_and_asks_the_client(parts: Parts) -> None:
    served = await served_by_adv1(parts)
    after = await outcomes_of(parts).resolve(served, "adv1")
    assert after.state == S.RESOLVED
    assert await parts.presence.load("adv1") == 0
    assert parts.record.tickets[served.ticket_id or ""].status == TicketStatus.RESOLVED
    last = parts.record.messages[served.id][-1]
    assert (last.text, last.payload["type"]) == (texts.RESOLVED, "feedback_request")
    assert Resolved(served.id, "adv1") in await parts.drain()


async def test_a_client_who_says_it_is_solved_is_thanked_not_asked(parts: Parts) -> None:
    served = await served_by_adv1(parts)
    await outcomes_of(parts).resolve(served, CLIENT_ACTOR)
    assert parts.record.messages[served.id][-1].payload["type"] == "resolved"


async def test_unresolved_goes_to_the_clients_responder(parts: Parts) -> None:
    served = await served_by_adv1(parts)
    after = await outcomes_of(parts).unresolved(served, "adv1", EscalationReason.AGENT_UNRESOLVED)
    assert (after.state, after.assignee_id) == (S.AWAITING_RESPONDER, "r1")
    assert await parts.presence.load("adv1") == 0
    assert parts.record.messages[served.id][-1].text.startswith(texts.UNRESOLVED_PREFIX)


async def test_reopen_needs_a_free_slot_of_the_last_agent(parts: Parts) -> None:
    outcomes = outcomes_of(parts)
    resolved = await outcomes.resolve(await served_by_adv1(parts), "adv1")
    await served_by_adv1(parts, "c-gold")  # adv1's only slot is taken again
    with pytest.raises(NoCapacity):
        await outcomes.reopen(resolved, CLIENT_ACTOR)
    assert (await parts.lookups.conversation(resolved.id)).state == S.RESOLVED
    assert await parts.presence.load("adv1") == 1


async def test_reopen_goes_back_to_the_agent(parts: Parts) -> None:
    outcomes = outcomes_of(parts)
    resolved = await outcomes.resolve(await served_by_adv1(parts), "adv1")
    after = await outcomes.reopen(resolved, CLIENT_ACTOR)
    assert (after.state, after.assignee_id) == (S.WITH_AGENT, "adv1")
    assert await parts.presence.load("adv1") == 1
    assert parts.record.tickets[after.ticket_id or ""].status == TicketStatus.ASSIGNED
    assert Reopened(after.id, "adv1") in await parts.drain()


async def test_closing_a_queued_conversation_moves_the_queue_up(parts: Parts) -> None:
    first = await parts.queued("c-std")
    parts.clock.advance(1)
    second = await parts.queued("c-gold")
    await parts.drain()
    after = await outcomes_of(parts).close(first, CLIENT_ACTOR)
    assert after.state == S.CLOSED
    assert parts.record.tickets[first.ticket_id or ""].status == TicketStatus.CLOSED
    seen = await parts.drain()
    assert Closed(first.id, None) in seen
    assert PositionChanged(second.id, "advisor", 1) in seen
