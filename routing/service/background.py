"""Background work every worker may run: lease reclaim, reconciliation, departures, auto-assignment, the wait
limit, the ladder, rebuild."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from routing.models import ConversationState, QueueName, Ticket, TicketStatus, Tier
from routing.ports import IdempotencyStore
from routing.records import Record
from routing.service.assigner import Assigner
from routing.service.departures import Departures
from routing.service.idle import IdleAgents
from routing.service.journal import SYSTEM_ACTOR, Journal
from routing.service.ladder import Ladder
from routing.service.reconcile import Reconciler, Repairs

logger = logging.getLogger(__name__)


FAST_STORES_MARK = "fast-stores:filled"
"""A key that exists while the fast stores (Redis) hold what was written to them; gone after a flush or restart."""
MARK_SECONDS = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class TickReport:
    """What one `tick` did."""

    reclaimed: int = 0
    assigned: int = 0
    wait_limit_escalations: int = 0
    ladder_steps: int = 0
    rebuilt: bool = False
    """The fast stores had lost their data (a Redis flush or restart) and were rebuilt from the record."""
    released: int = 0
    """Conversations given back because their holder was disabled (RoutingService.tick)."""
    given_back: int = 0
    """Conversations of agents who went offline (or whose heartbeat lapsed), requeued or sent to tier 3."""
    idle_warned: int = 0
    """Agents warned that a client has waited long for their answer."""
    idle_given_back: int = 0
    """Conversations requeued (or sent to tier 3) because their agent left the client unanswered too long."""
    repairs: Repairs = field(default_factory=Repairs)
    """Queue entries reconciled with the record (restored, dropped, moved): a metric to count and alert on."""


class Background:
    """Periodic and recovery work over the record and the fast stores."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self,
        record: Record,
        journal: Journal,
        assigner: Assigner,
        ladder: Ladder,
        departures: Departures,
        reconciler: Reconciler,
        marks: IdempotencyStore,
        presence_ttl_seconds: float,
        idle: IdleAgents,
    ) -> None:
        self._record = record
        self._journal = journal
        self._assigner = assigner
        self._ladder = ladder
        self._marks = marks
        self._presence_ttl = presence_ttl_seconds
        self._departures = departures
        self._reconciler = reconciler
        self._idle = idle

    async def tick(self) -> TickReport:
        """Reclaim lapsed leases, reconcile the queues with the record, give back the conversations of agents
        who left (or left a client unanswered too long), auto-assign, apply the tier-2 wait limit and the ladder.

        Idempotent and safe to run from many workers at once: every move is a lease or a
        compare-and-set, and the loser of a race skips. First, if the fast stores lost their data since
        the last tick (their mark is gone), one worker — the one that sets the mark again — rebuilds the
        queues and the agents' loads from the record before anything is assigned.
        """
        rebuilt = await self.rebuild_if_emptied()
        reclaimed = await self._assigner.reclaim_expired()
        repairs = await self._reconciler.reconcile()
        given_back = await self._departures.sweep()
        idle = await self._idle.sweep()
        assigned = await self._assigner.fill(QueueName)
        escalated = await self._ladder.apply_wait_limit()
        steps = await self._ladder.advance_overdue()
        return TickReport(
            reclaimed,
            assigned,
            escalated,
            steps,
            rebuilt,
            given_back=given_back,
            idle_warned=idle.warned,
            idle_given_back=idle.given_back,
            repairs=repairs,
        )

    async def rebuild_if_emptied(self) -> bool:
        """Rebuild from the record when the fast stores' mark is missing (set it again first: one worker wins)."""
        if not await self._marks.claim(FAST_STORES_MARK, MARK_SECONDS):
            return False
        restored = await self._rebuild()
        logger.warning("the fast stores had lost their data: rebuilt from the record (%d tickets queued)", restored)
        return True

    async def rebuild_queues(self) -> int:
        """After a Redis flush or restart: presence of whoever serves, agent loads, waiting tickets; mark the stores.

        Presence first: it was lost with the stores, not given up, so whoever serves gets one presence lifetime to
        heartbeat again (a live console does) before their conversations are given back as after any lapse.
        """
        await self._marks.claim(FAST_STORES_MARK, MARK_SECONDS)
        return await self._rebuild()

    async def _rebuild(self) -> int:
        """The rebuild itself (the caller has set the stores' mark); how many tickets were queued again."""
        with_agent = await self._record.conversations_in_states({ConversationState.WITH_AGENT})
        active = Counter(c.assignee_id for c in with_agent if c.assignee_id)
        members = await self._record.list_staff()
        await self._assigner.restore_presence([m for m in members if active.get(m.id)], self._presence_ttl)
        await self._assigner.reset_loads(members, active)
        restored = 0
        for ticket in await self._record.open_tickets():
            if await self._waits_in_queue(ticket) and await self._assigner.restore(ticket):
                restored += 1
        await self._journal.audit(SYSTEM_ACTOR, "queues.rebuild", "queues", {"restored": restored})
        return restored

    async def _waits_in_queue(self, ticket: Ticket) -> bool:
        """An open tier-2 ticket whose conversation is still queued on it."""
        if ticket.tier != Tier.ONLINE or ticket.status != TicketStatus.OPEN or ticket.queue is None:
            return False
        conversation = await self._record.get_conversation(ticket.conversation_id)
        return (
            conversation is not None
            and conversation.state == ConversationState.QUEUED
            and conversation.ticket_id == ticket.id
        )
