"""The assigner: tier-2 seats. Queue entries and their leases, staff slots, claims and auto-assignment.

Auto-assignment gives the head of a queue to the least-loaded online member with a free slot (ties
round robin, routing.assignment). A slot is reserved before a queue entry is leased, so two workers
never overfill a member; whoever loses a race gives the lease or the slot back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import TypeGuard

from routing import texts
from routing.assignment import Candidate, assignment_order
from routing.errors import NoCapacity, NotFound, StaleClaim, StaleConversation
from routing.events import PositionChanged
from routing.models import Conversation, ConversationState, Presence, QueueName, Staff, Ticket, TicketStatus
from routing.ports import Lease, PresenceStore, QueueEntry, QueueStore
from routing.service import access
from routing.service.journal import SYSTEM_ACTOR, Journal
from routing.service.lookups import Lookups
from routing.state_machine import TransitionName

MAX_ASSIGN_ROUNDS = 200
"""Upper bound of assignment attempts per call (each round assigns one conversation or gives up)."""
QUEUE_SCAN_LIMIT = 10_000
POSITION_NOTICES = 100
"""How many waiting clients hear their new position after the queue moves."""


class Assigner:
    """Who of tier 2 takes which waiting conversation, and the queue and slot bookkeeping around it."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self,
        lookups: Lookups,
        journal: Journal,
        queues: QueueStore,
        presence: PresenceStore,
        lease_seconds: float,
        worker_id: str,
    ) -> None:
        self._lookups = lookups
        self._journal = journal
        self._queues = queues
        self._presence = presence
        self._lease_seconds = lease_seconds
        self._worker_id = worker_id

    def claimer(self, staff_id: str) -> str:
        """The lease holder name of this worker acting for `staff_id`."""
        return f"{self._worker_id}:{staff_id}"

    # --- queue entries ---------------------------------------------------------------------------

    async def enqueue(self, ticket: Ticket) -> int | None:
        """Put a tier-2 ticket in its queue; its position there."""
        if ticket.queue is None:
            raise ValueError(f"ticket {ticket.id} has no queue")
        entry = QueueEntry(ticket.id, ticket.conversation_id, ticket.queue, ticket.priority, ticket.enqueued_at)
        await self._queues.enqueue(entry)
        # The record was written first; if the conversation moved on meanwhile (a close racing the
        # escalation), whoever moved it may have looked before this entry existed: drop it here.
        if not _still_waits(await self._lookups.find_conversation(ticket.conversation_id), entry):
            await self.check_waiting(entry)
            return None
        return await self._queues.position(ticket.queue, ticket.id)

    async def position(self, queue: QueueName, ticket_id: str) -> int | None:
        """A waiting ticket's place in its queue (1 = next), or None."""
        return await self._queues.position(queue, ticket_id)

    async def waiting(self, queue: QueueName, limit: int) -> list[QueueEntry]:
        """The first `limit` entries of a queue in service order."""
        return await self._queues.entries(queue, limit=limit)

    async def queue_length(self, queue: QueueName) -> int:
        """How many entries wait in a queue."""
        return await self._queues.length(queue)

    async def publish_positions(self, queue: QueueName) -> None:
        """Tell the first waiting clients their new place in the queue."""
        for position, entry in enumerate(await self._queues.entries(queue, limit=POSITION_NOTICES), start=1):
            await self._journal.publish(PositionChanged(entry.conversation_id, queue.value, position))

    @asynccontextmanager
    async def out_of_queue(self, conversation: Conversation) -> AsyncIterator[None]:
        """For a queued conversation, hold its ticket under a lease while the block moves it away.

        StaleClaim if someone else holds it (an assignment in flight); the ticket goes back if the
        block fails, and leaves the queue for good if it succeeds. Other states: a plain block.
        """
        if conversation.state != ConversationState.QUEUED or conversation.queue is None or not conversation.ticket_id:
            yield
            return
        claimer = self.claimer(SYSTEM_ACTOR)
        ticket_id = conversation.ticket_id
        entry = QueueEntry(ticket_id, conversation.id, conversation.queue, 0, conversation.updated_at)
        lease = await self._queues.claim_ticket(conversation.queue, ticket_id, claimer, self._lease_seconds)
        if lease is None and await self._queues.location(ticket_id) is not None:
            raise StaleClaim(f"conversation {conversation.id} is being assigned; try again")
        try:
            yield
        except BaseException:
            if lease is not None:
                await self._queues.requeue(ticket_id, claimer)
            raise
        if lease is not None:
            await self._settle(entry, claimer)
        else:  # not in the queue yet: an escalation between its record write and its enqueue
            await self.check_waiting(entry)

    async def overdue(self, limit: timedelta, now: datetime) -> list[QueueEntry]:
        """Entries of every queue waiting `limit` or longer, queue by queue in service order."""
        return [
            entry
            for queue in QueueName
            for entry in await self._queues.entries(queue, QUEUE_SCAN_LIMIT)
            if now - entry.enqueued_at >= limit
        ]

    async def check_waiting(self, entry: QueueEntry) -> Conversation | None:
        """The conversation an entry stands for, if it still waits and nobody holds the entry.

        A stale entry (the conversation moved on) is dropped from the queue; a live one stays.
        """
        claimer = self.claimer(SYSTEM_ACTOR)
        if await self._queues.claim_ticket(entry.queue, entry.ticket_id, claimer, self._lease_seconds) is None:
            return None
        conversation = await self._lookups.find_conversation(entry.conversation_id)
        if not _still_waits(conversation, entry):
            await self._queues.ack(entry.ticket_id, claimer)
            return None
        await self._queues.requeue(entry.ticket_id, claimer)
        return conversation

    async def verify(self, entry: QueueEntry) -> str:
        """Hold the entry and check it against the record: "kept", "moved" (to its conversation's queue),
        "dropped" (nobody waits on it), or "busy" (someone else holds it now)."""
        claimer = self.claimer(SYSTEM_ACTOR)
        if await self._queues.claim_ticket(entry.queue, entry.ticket_id, claimer, self._lease_seconds) is None:
            return "busy"
        conversation = await self._lookups.find_conversation(entry.conversation_id)
        if not _still_waits(conversation, entry):
            await self._settle(entry, claimer)
            return "dropped"
        if conversation.queue is not None and conversation.queue != entry.queue:
            await self._queues.enqueue(dataclasses.replace(entry, queue=conversation.queue))
            return "moved"
        await self._queues.requeue(entry.ticket_id, claimer)
        return "kept"

    async def leased_tickets(self) -> set[str]:
        """Ids of every ticket under a claim lease."""
        return {lease.entry.ticket_id for lease in await self._queues.leases()}

    async def reclaim_expired(self) -> int:
        """Return lapsed leases (a worker died mid-claim) to their queues; how many."""
        return len(await self._queues.reclaim_expired())

    async def restore(self, ticket: Ticket) -> bool:
        """Re-enqueue a waiting ticket missing from the queues (after a flush); whether it was missing."""
        if await self._queues.location(ticket.id) is not None:
            return False
        await self.enqueue(ticket)
        return True

    # --- slots -----------------------------------------------------------------------------------

    async def reserve(self, staff: Staff) -> bool:
        """Take one of the member's free slots; False if they are full."""
        return await self._presence.reserve(staff.id, staff.max_concurrency)

    async def release(self, staff_id: str) -> None:
        """Give one slot back."""
        await self._presence.release(staff_id)

    async def _slot_freed(self, staff_id: str) -> None:
        """Give one slot back and let the member's queues fill it."""
        await self._presence.release(staff_id)
        member = await self._lookups.find_staff(staff_id)
        if member is not None and access.in_tier2_role(member):
            await self.fill(member.skills)

    async def free_agent_of(self, before: Conversation) -> None:
        """A conversation that was with a tier-2 agent no longer takes one of their slots."""
        if before.state == ConversationState.WITH_AGENT and before.assignee_id:
            await self._slot_freed(before.assignee_id)

    async def reserve_for_transfer(self, target: Staff) -> None:
        """Take a slot of a colleague a conversation is handed to; NoCapacity if offline or full."""
        if await self._presence.presence(target.id) != Presence.ONLINE:
            raise NoCapacity(f"{target.id} is not online")
        if not await self.reserve(target):
            raise NoCapacity(f"{target.id} has no free slot")

    async def reset_loads(self, members: Iterable[Staff], active: Mapping[str, int]) -> None:
        """Set each tier-2 member's load to their number of `active` conversations (0 if absent)."""
        for member in members:
            if access.in_tier2_role(member):
                await self._presence.set_load(member.id, active.get(member.id, 0))

    async def restore_presence(self, members: Iterable[Staff], ttl_seconds: float) -> None:
        """Online again, for one presence lifetime, each member the stores forgot (a Redis flush or restart)."""
        for member in members:
            if await self._presence.presence(member.id) == Presence.OFFLINE:
                skills = member.skills if access.in_tier2_role(member) else frozenset()
                await self._presence.set_presence(member.id, skills, Presence.ONLINE, ttl_seconds)

    # --- assignment ------------------------------------------------------------------------------

    async def fill(self, queues: Iterable[QueueName]) -> int:
        """Auto-assign each of these queues in name order; how many conversations were assigned."""
        return sum([await self.auto_assign(queue) for queue in sorted(queues)])

    async def auto_assign(self, queue: QueueName) -> int:
        """Give waiting conversations to the least-loaded online staff with free slots."""
        assigned = 0
        for _round in range(MAX_ASSIGN_ROUNDS):
            if await self._queues.length(queue) == 0:
                break
            staff = await self.online_staff(queue)
            loads = await self._presence.loads([member.id for member in staff])
            candidates = [Candidate(m.id, loads.get(m.id, 0), m.max_concurrency) for m in staff]
            turn = await self._presence.next_round_robin(f"assign:{queue.value}")
            chosen = await self._reserve_first(assignment_order(candidates, turn), staff)
            if chosen is None:
                break
            lease = await self._queues.claim_head(queue, self.claimer(chosen.id), self._lease_seconds)
            result = await self._finish_claim(lease, chosen, SYSTEM_ACTOR, "auto_assign") if lease else None
            if result is None:
                await self._presence.release(chosen.id)
                if lease is None:
                    break
                continue
            assigned += 1
        if assigned:
            await self.publish_positions(queue)
        return assigned

    async def claim_best(self, staff: Staff) -> Conversation:
        """The staff member takes the best head of their queues; NoCapacity if full, NotFound if none waits."""
        if not await self.reserve(staff):
            raise NoCapacity(f"{staff.id} already serves {staff.max_concurrency} conversations")
        try:
            for _round in range(MAX_ASSIGN_ROUNDS):
                heads = [head for queue in sorted(staff.skills) if (head := await self._queues.peek(queue))]
                if not heads:
                    break
                best = min(heads, key=lambda entry: (-entry.priority, entry.enqueued_at, entry.ticket_id))
                lease = await self._queues.claim_head(best.queue, self.claimer(staff.id), self._lease_seconds)
                if lease is None:
                    continue
                assigned = await self._finish_claim(lease, staff, staff.id, "claimed")
                if assigned is not None:
                    return assigned
        except BaseException:
            await self._presence.release(staff.id)
            raise
        await self._presence.release(staff.id)
        raise NotFound("no conversation is waiting in your queues")

    async def claim_waiting(self, staff: Staff, conversation: Conversation) -> Conversation:
        """The staff member takes this queued conversation; StaleClaim if it was taken meanwhile."""
        if conversation.queue is None or conversation.ticket_id is None:
            raise StaleClaim(f"conversation {conversation.id} is no longer waiting")
        if not await self.reserve(staff):
            raise NoCapacity(f"{staff.id} already serves {staff.max_concurrency} conversations")
        lease = await self._queues.claim_ticket(
            conversation.queue, conversation.ticket_id, self.claimer(staff.id), self._lease_seconds
        )
        assigned = await self._finish_claim(lease, staff, staff.id, "claimed") if lease else None
        if assigned is None:
            await self._presence.release(staff.id)
            raise StaleClaim(f"conversation {conversation.id} was taken meanwhile")
        return assigned

    async def online_staff(self, queue: QueueName) -> list[Staff]:
        """Online tier-2 members skilled for the queue."""
        members = []
        for staff_id in await self._presence.online_staff(queue):
            try:
                member = await self._lookups.staff(staff_id)
            except NotFound:
                continue
            if member.active and access.serves_queue(member, queue):
                members.append(member)
        return members

    async def online_slots(self, queue: QueueName) -> list[tuple[int, int]]:
        """(load, capacity) of each online member of the queue."""
        staff = await self.online_staff(queue)
        loads = await self._presence.loads([member.id for member in staff])
        return [(loads.get(member.id, 0), member.max_concurrency) for member in staff]

    async def online_counts(self) -> dict[QueueName, int]:
        """How many staff are online per queue skill."""
        return {queue: len(await self._presence.online_staff(queue)) for queue in QueueName}

    async def is_online(self, staff_id: str) -> bool:
        """Whether the staff member's presence is online."""
        return await self._presence.presence(staff_id) == Presence.ONLINE

    async def _reserve_first(self, order: Sequence[str], staff: Sequence[Staff]) -> Staff | None:
        """Reserve a slot with the first candidate in `order` who still has one."""
        by_id = {member.id: member for member in staff}
        for staff_id in order:
            if await self.reserve(by_id[staff_id]):
                return by_id[staff_id]
        return None

    async def _finish_claim(self, lease: Lease, staff: Staff, actor: str, reason: str) -> Conversation | None:
        """Turn a lease into an assignment; None (lease dropped or given back) if the entry is stale.

        The staff member's slot must already be reserved; the caller releases it on None.
        """
        entry = lease.entry
        conversation = await self._lookups.find_conversation(entry.conversation_id)
        if not _still_waits(conversation, entry):
            await self._settle(entry, lease.claimer)
            return None
        try:
            after = await self._journal.move(conversation, TransitionName.ASSIGN, actor, reason, assignee_id=staff.id)
        except StaleConversation:
            await self._give_back(entry, lease.claimer)
            return None
        except BaseException:
            await self._queues.requeue(entry.ticket_id, lease.claimer)
            raise
        await self._settle(entry, lease.claimer)
        await self._journal.patch_ticket(
            entry.ticket_id, status=TicketStatus.ASSIGNED, assigned_to=staff.id, assigned_at=after.updated_at
        )
        joined = texts.agent_joined(after.queue, staff.name, staff.practice_number)
        await self._journal.tell_client(after.id, joined, type="agent_joined")
        await self._journal.announce_joined(after, staff)
        return after

    async def _settle(self, entry: QueueEntry, claimer: str) -> None:
        """The entry is done with: ack the lease; if it lapsed meanwhile, drop the entry it left in the queue.

        A lease that lapses during a slow move is reclaimed into the queue by any worker's tick;
        acking then fails and the entry would wait for a conversation that no longer does.
        """
        if not await self._queues.ack(entry.ticket_id, claimer):
            await self.check_waiting(entry)

    async def _give_back(self, entry: QueueEntry, claimer: str) -> None:
        """A lost compare-and-set: requeue the entry if its conversation still waits on it, else settle it."""
        if _still_waits(await self._lookups.find_conversation(entry.conversation_id), entry):
            await self._queues.requeue(entry.ticket_id, claimer)
        else:
            await self._settle(entry, claimer)


def _still_waits(conversation: Conversation | None, entry: QueueEntry) -> TypeGuard[Conversation]:
    """The conversation is still queued on this entry's ticket."""
    return (
        conversation is not None
        and conversation.state == ConversationState.QUEUED
        and conversation.ticket_id == entry.ticket_id
    )
