"""The assigner: slots before leases, least loaded first, stale entries dropped, races given back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routing.errors import NoCapacity, NotFound, StaleClaim
from routing.events import AgentJoined, PositionChanged
from routing.models import ConversationState, Presence, QueueName, TicketStatus
from routing.service.journal import SYSTEM_ACTOR
from routing.state_machine import TransitionName
from tests.routing.service.parts import Parts, build_parts

ADVISOR, SERVICE = QueueName.ADVISOR, QueueName.SERVICE


@pytest.fixture
async def parts() -> Parts:
    return await build_parts()


async def test_auto_assign_fills_the_least_loaded_and_tells_everyone(parts: Parts) -> None:
    await parts.online("adv1", "adv2")
    first, second, third = [await parts.queued(client) for client in ("c-std", "c-gold", "c-other")]
    assert await parts.assigner.auto_assign(ADVISOR) == 3
    held = {c.id: (await parts.lookups.conversation(c.id)).assignee_id for c in (first, second, third)}
    assert sorted(str(holder) for holder in held.values()) == ["adv1", "adv2", "adv2"]  # one slot; two
    assert await parts.presence.loads(["adv1", "adv2"]) == {"adv1": 1, "adv2": 2}
    ticket = parts.record.tickets[first.ticket_id or ""]
    assert (ticket.status, ticket.assigned_to) == (TicketStatus.ASSIGNED, held[first.id])
    joined = [e for e in await parts.drain() if isinstance(e, AgentJoined)]
    assert len(joined) == 3


async def test_nobody_online_assigns_nothing(parts: Parts) -> None:
    await parts.queued()
    assert await parts.assigner.auto_assign(ADVISOR) == 0
    assert await parts.queues.length(ADVISOR) == 1


async def test_a_stale_entry_is_dropped_and_the_slot_given_back(parts: Parts) -> None:
    await parts.online("adv1")
    queued = await parts.queued()
    await parts.journal.move(queued, TransitionName.CLOSE, "client", "closed")  # entry left behind
    assert await parts.assigner.auto_assign(ADVISOR) == 0
    assert await parts.queues.length(ADVISOR) == 0
    assert await parts.presence.load("adv1") == 0


async def test_claim_best_takes_the_highest_priority_head(parts: Parts) -> None:
    await parts.queued("c-std")
    parts.clock.advance(1)
    vip = await parts.queued("c-vip", SERVICE)
    claimed = await parts.assigner.claim_best(await parts.lookups.staff("both"))
    assert (claimed.id, claimed.assignee_id, claimed.state) == (vip.id, "both", ConversationState.WITH_AGENT)


async def test_claim_best_with_nothing_waiting_gives_the_slot_back(parts: Parts) -> None:
    staff = await parts.lookups.staff("adv1")
    with pytest.raises(NotFound):
        await parts.assigner.claim_best(staff)
    assert await parts.presence.load("adv1") == 0
    assert await parts.assigner.reserve(staff)
    with pytest.raises(NoCapacity):
        await parts.assigner.claim_best(staff)  # adv1 has one slot


async def test_claim_waiting_loses_to_a_lease_in_flight(parts: Parts) -> None:
    queued = await parts.queued()
    assert await parts.queues.claim_head(ADVISOR, "other-worker:adv2", 30) is not None
    with pytest.raises(StaleClaim):
        await parts.assigner.claim_waiting(await parts.lookups.staff("adv1"), queued)
    assert await parts.presence.load("adv1") == 0


async def test_out_of_queue_holds_the_entry_and_returns_it_on_failure(parts: Parts) -> None:
    queued = await parts.queued()
    with pytest.raises(RuntimeError):
        async with parts.assigner.out_of_queue(queued):
            assert await parts.queues.length(ADVISOR) == 0
            raise RuntimeError("the move failed")
    assert await parts.queues.position(ADVISOR, queued.ticket_id or "") == 1
    async with parts.assigner.out_of_queue(queued):
        pass
    assert await parts.queues.location(queued.ticket_id or "") is None


async def test_out_of_queue_refuses_while_someone_else_holds_the_entry(parts: Parts) -> None:
    queued = await parts.queued()
    await parts.queues.claim_head(ADVISOR, "other-worker:adv1", 30)
    with pytest.raises(StaleClaim):
        async with parts.assigner.out_of_queue(queued):
            pytest.fail("must not run")


async def test_overdue_and_check_waiting(parts: Parts) -> None:
    stale = await parts.queued("c-std")
    parts.clock.advance(100)
    fresh = await parts.queued("c-gold")
    overdue = await parts.assigner.overdue(timedelta(seconds=100), parts.clock.now())
    assert [entry.conversation_id for entry in overdue] == [stale.id]
    assert await parts.assigner.check_waiting(overdue[0]) == stale  # still waits: stays queued
    assert await parts.queues.position(ADVISOR, stale.ticket_id or "") is not None
    await parts.journal.move(stale, TransitionName.CLOSE, SYSTEM_ACTOR, "closed")
    assert await parts.assigner.check_waiting(overdue[0]) is None  # moved on: entry dropped
    assert await parts.queues.location(stale.ticket_id or "") is None
    assert await parts.queues.position(ADVISOR, fresh.ticket_id or "") == 1


async def test_a_transfer_needs_the_colleague_online_with_a_free_slot(parts: Parts) -> None:
    target = await parts.lookups.staff("adv1")
    with pytest.raises(NoCapacity, match="not online"):
        await parts.assigner.reserve_for_transfer(target)
    await parts.online("adv1")
    await parts.assigner.reserve_for_transfer(target)
    with pytest.raises(NoCapacity, match="no free slot"):
        await parts.assigner.reserve_for_transfer(target)


async def test_restore_and_loads_after_a_flush(parts: Parts) -> None:
    queued = await parts.queued()
    ticket = parts.record.tickets[queued.ticket_id or ""]
    assert not await parts.assigner.restore(ticket)  # already there
    await parts.queues.claim_ticket(ADVISOR, ticket.id, "w:x", 30)
    await parts.queues.ack(ticket.id, "w:x")
    assert await parts.assigner.restore(ticket)
    assert await parts.queues.position(ADVISOR, ticket.id) == 1
    await parts.assigner.reset_loads(await parts.record.list_staff(), {"adv2": 2, "r1": 3})
    assert await parts.presence.loads(["adv1", "adv2", "r1"]) == {"adv1": 0, "adv2": 2, "r1": 0}


async def test_positions_are_published_in_service_order(parts: Parts) -> None:
    first = await parts.queued("c-std")
    parts.clock.advance(1)
    vip = await parts.queued("c-vip")
    await parts.drain()
    parts.seen.clear()
    await parts.assigner.publish_positions(ADVISOR)
    assert await parts.drain() == [
        PositionChanged(vip.id, "advisor", 1),
        PositionChanged(first.id, "advisor", 2),
    ]


async def test_online_counts_and_slots(parts: Parts) -> None:
    await parts.online("adv1", "both")
    await parts.presence.set_presence("svc1", frozenset({SERVICE}), Presence.AWAY, 90)
    assert await parts.assigner.online_counts() == {ADVISOR: 2, SERVICE: 1}
    assert await parts.assigner.is_online("adv1") and not await parts.assigner.is_online("svc1")
    assert sorted(await parts.assigner.online_slots(ADVISOR)) == [(0, 1), (0, 3)]


async def test_only_a_tier2_agent_gets_a_slot_back(parts: Parts) -> None:
    await parts.online("adv1")
    queued = await parts.queued()
    await parts.assigner.free_agent_of(queued)  # nobody holds a queued conversation
    assert await parts.presence.load("adv1") == 0
    await parts.assigner.auto_assign(ADVISOR)
    served = await parts.lookups.conversation(queued.id)
    assert await parts.presence.load("adv1") == 1
    await parts.assigner.free_agent_of(served)
    assert await parts.presence.load("adv1") == 0
