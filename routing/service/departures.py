"""Departures: an agent who goes offline, or whose heartbeat lapses, gives their conversations back (and one who
leaves a client unanswered too long gives that conversation back: routing.service.idle).

Each conversation goes back to its queue at its original place (the ticket keeps its priority and
enqueue time, so VIP first and waiting time kept), or to tier 3 when nobody of tier 2 is online for
it. The client is told either way.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import defaultdict

from routing import texts
from routing.errors import IllegalTransition, StaleConversation
from routing.events import Queued
from routing.models import (
    Conversation,
    ConversationState,
    EscalationReason,
    Presence,
    QueueName,
    Ticket,
    TicketStatus,
)
from routing.ports import PresenceStore
from routing.records import Record
from routing.service.assigner import Assigner
from routing.service.journal import SYSTEM_ACTOR, Journal
from routing.service.ladder import Ladder
from routing.service.lookups import Lookups
from routing.state_machine import TransitionName

logger = logging.getLogger(__name__)


class Departures:
    """Hands the conversations of agents who left back to the queues (or to tier 3)."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self,
        record: Record,
        lookups: Lookups,
        journal: Journal,
        assigner: Assigner,
        ladder: Ladder,
        presence: PresenceStore,
    ) -> None:
        self._record = record
        self._lookups = lookups
        self._journal = journal
        self._assigner = assigner
        self._ladder = ladder
        self._presence = presence

    async def give_back(self, staff_id: str, why: str) -> int:
        """Requeue every tier-2 conversation the agent holds; how many moved."""
        return sum([await self.give_back_one(c, why) for c in await self._held(staff_id)])

    async def sweep(self) -> int:
        """Give back the conversations of every agent whose presence is offline (set or lapsed); how many."""
        by_agent: defaultdict[str, list[Conversation]] = defaultdict(list)
        for conversation in await self._record.conversations_in_states({ConversationState.WITH_AGENT}):
            if conversation.assignee_id:
                by_agent[conversation.assignee_id].append(conversation)
        moved = 0
        for staff_id, conversations in sorted(by_agent.items()):
            if await self._presence.presence(staff_id) == Presence.OFFLINE:
                moved += sum([await self.give_back_one(c, "presence lapsed") for c in conversations])
        return moved

    async def _held(self, staff_id: str) -> list[Conversation]:
        with_agent = await self._record.conversations_in_states({ConversationState.WITH_AGENT})
        return [c for c in with_agent if c.assignee_id == staff_id]

    async def give_back_one(self, conversation: Conversation, why: str, idle: bool = False) -> int:
        """1 if the conversation moved (queue or tier 3), 0 if it moved on meanwhile (resolved, transferred).

        `idle`: the agent is still here but did not answer; the client is told so rather than that they left.
        """
        queue = conversation.queue
        ticket = await self._lookups.ticket(conversation.ticket_id)
        if queue is None or ticket is None:
            return 0
        try:
            if not await self._assigner.online_staff(queue):
                client = await self._lookups.client_of(conversation)
                reason = EscalationReason.NO_STAFF_ONLINE
                prefix = texts.AGENT_IDLE_PREFIX if idle else texts.AGENT_LEFT_PREFIX
                await self._ladder.hand_over(conversation, client, SYSTEM_ACTOR, reason, prefix=prefix)
                moved_to = "tier 3"
            else:
                await self._journal.move(
                    conversation, TransitionName.TRANSFER_QUEUE, SYSTEM_ACTOR, why, queue=queue, assignee_id=None
                )
                moved_to = queue.value
        except (StaleConversation, IllegalTransition) as error:  # lost to a resolve or transfer: nothing to do
            logger.info("conversation %s not given back: %s", conversation.id, error)
            return 0
        if moved_to == queue.value:
            await self._requeued(conversation, ticket, queue, idle)
        logger.warning(
            "conversation %s given back by %s (%s): to %s", conversation.id, conversation.assignee_id, why, moved_to
        )
        return 1

    async def _requeued(self, conversation: Conversation, ticket: Ticket, queue: QueueName, idle: bool) -> None:
        """The ticket waits again at its old place; the client hears so; the agent's slot is freed."""
        reopened = dataclasses.replace(
            ticket, queue=queue, status=TicketStatus.OPEN, assigned_to=None, assigned_at=None
        )
        await self._journal.save_ticket(reopened)
        position = await self._assigner.enqueue(reopened)
        told = texts.agent_idle(queue, position) if idle else texts.agent_left(queue, position)
        await self._journal.tell_client(conversation.id, told, type="queued", position=position)
        await self._journal.publish(Queued(conversation.id, queue.value, position, ticket.vip))
        await self._assigner.free_agent_of(conversation)  # frees the slot and lets the queues fill
