"""Races between SQL (the record) and the queue store: no entry outlives the conversation it stood for.

A claim lease can lapse while a slow move is being saved; any worker's tick then returns the entry to
its queue. An escalation writes the record before the queue, so a close can run in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from routing.errors import StaleClaim
from routing.models import Conversation, ConversationState, QueueName, Transition
from routing.ports import QueueEntry
from routing.service.assigner import Assigner
from routing.service.journal import SYSTEM_ACTOR
from routing.state_machine import TransitionName
from tests.routing.service.parts import Parts, build_parts

ADVISOR = QueueName.ADVISOR
Save = Callable[[Conversation, Conversation, Transition], Awaitable[None]]


@pytest.fixture
async def parts() -> Parts:
    return await build_parts()


async def nowhere(parts: Parts, ticket_id: str | None) -> bool:
    return await parts.queues.location(ticket_id or "") is None


async def test_a_lease_that_lapses_during_the_assign_leaves_no_entry(parts: Parts, monkeypatch) -> None:
    await parts.online("adv1")
    queued = await parts.queued()
    save: Save = parts.record.save_transition

    async def slow_save(before: Conversation, after: Conversation, transition: Transition) -> None:
        parts.clock.advance(31)  # the lease was 30 s
        assert len(await parts.queues.reclaim_expired()) == 1
        await save(before, after, transition)

    monkeypatch.setattr(parts.record, "save_transition", slow_save)
    claimed = await parts.assigner.claim_best(await parts.lookups.staff("adv1"))
    assert (claimed.state, claimed.assignee_id) == (ConversationState.WITH_AGENT, "adv1")
    assert await nowhere(parts, queued.ticket_id)
    assert await parts.queues.leases() == []


async def test_the_loser_of_a_lapsed_lease_drops_the_entry_instead_of_requeueing_it(parts: Parts, monkeypatch) -> None:
    await parts.online("adv1", "adv2")
    queued = await parts.queued()
    other = Assigner(parts.lookups, parts.journal, parts.queues, parts.presence, 30, "w-other")
    save: Save = parts.record.save_transition
    loser_saving, winner_saved = asyncio.Event(), asyncio.Event()
    loser: asyncio.Task[Conversation] | None = None

    async def racing_save(before: Conversation, after: Conversation, transition: Transition) -> None:
        nonlocal loser
        if after.assignee_id == "adv1":  # the winner, slow: its lease lapses, the other worker takes it
            parts.clock.advance(31)
            await parts.queues.reclaim_expired()
            loser = asyncio.create_task(other.claim_waiting(await parts.lookups.staff("adv2"), queued))
            await loser_saving.wait()
            await save(before, after, transition)
            winner_saved.set()
        else:  # the loser saves after the winner: its compare-and-set fails
            loser_saving.set()
            await winner_saved.wait()
            await save(before, after, transition)

    monkeypatch.setattr(parts.record, "save_transition", racing_save)
    claimed = await parts.assigner.claim_best(await parts.lookups.staff("adv1"))
    assert claimed.assignee_id == "adv1"
    assert loser is not None
    with pytest.raises(StaleClaim):
        await loser
    assert await nowhere(parts, queued.ticket_id)
    assert await parts.presence.loads(["adv1", "adv2"]) == {"adv1": 1, "adv2": 0}


async def test_a_close_between_the_escalations_record_write_and_its_enqueue(parts: Parts) -> None:
    queued = await parts.queued()
    ticket = parts.record.tickets[queued.ticket_id or ""]
    await parts.queues.remove(ticket.id)  # as if the escalation had not reached the queue store yet
    await parts.journal.move(queued, TransitionName.CLOSE, SYSTEM_ACTOR, "closed")
    assert await parts.assigner.enqueue(ticket) is None  # the late enqueue sees the move and undoes itself
    assert await nowhere(parts, ticket.id)


async def test_a_close_that_ran_before_the_late_enqueue_cleans_up_after_its_move(parts: Parts) -> None:
    queued = await parts.queued()
    ticket = parts.record.tickets[queued.ticket_id or ""]
    await parts.queues.remove(ticket.id)
    entry = QueueEntry(ticket.id, queued.id, ADVISOR, ticket.priority, ticket.enqueued_at)
    async with parts.assigner.out_of_queue(queued):  # nothing to hold: the entry is not there yet
        await parts.journal.move(queued, TransitionName.CLOSE, SYSTEM_ACTOR, "closed")
        await parts.queues.enqueue(entry)  # the escalation's enqueue lands after the move
    assert await nowhere(parts, ticket.id)


async def test_a_lease_that_lapses_during_out_of_queue_leaves_no_entry(parts: Parts) -> None:
    queued = await parts.queued()
    async with parts.assigner.out_of_queue(queued):
        parts.clock.advance(31)
        await parts.queues.reclaim_expired()
        await parts.journal.move(queued, TransitionName.CLOSE, SYSTEM_ACTOR, "closed")
    assert await nowhere(parts, queued.ticket_id)
