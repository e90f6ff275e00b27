"""Intake: the way out of the bot. A tier-2 queue, or tier 3 when tier 2 is closed or nobody is online."""

from __future__ import annotations

import dataclasses
import uuid

from routing import texts
from routing.errors import IllegalTransition, RoutingError
from routing.events import Queued
from routing.models import (
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    QueueName,
    Ticket,
    TicketStatus,
    Tier,
)
from routing.policy import Availability, Escalation, Route
from routing.ports import Clock
from routing.service.assigner import Assigner
from routing.service.journal import SYSTEM_ACTOR, Journal
from routing.service.ladder import Ladder
from routing.service.lookups import Lookups
from routing.service.rules import RoutingRules
from routing.state_machine import TransitionName


class Intake:
    """Routes a conversation that leaves the bot, by the routing policy."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self, lookups: Lookups, journal: Journal, assigner: Assigner, ladder: Ladder, rules: RoutingRules, clock: Clock
    ) -> None:
        self._lookups = lookups
        self._journal = journal
        self._assigner = assigner
        self._ladder = ladder
        self._rules = rules
        self._clock = clock

    async def escalate_from_bot(
        self, conversation_id: str, reason: EscalationReason, queue_hint: QueueName | None, question: str
    ) -> Conversation:
        """Leave the bot: tier-2 queue, or tier 3 (off hours / nobody online), or leave a message."""
        conversation = await self._lookups.conversation(conversation_id)
        if conversation.state != ConversationState.BOT:
            raise IllegalTransition("escalate_from_bot", conversation.state.value)
        client = await self._lookups.client_of(conversation)
        question = question.strip() or await self._lookups.last_client_text(conversation_id)
        escalation = Escalation(reason, queue_hint, question, client, self._clock.now())
        decision = self._rules.decide(escalation, await self._availability(client))
        if decision.route == Route.QUEUE:
            return await self._enqueue(conversation, client, decision.queue, decision.reason, question)
        prefix = texts.OFF_HOURS_PREFIX if decision.reason == EscalationReason.OFF_HOURS else texts.NO_STAFF_PREFIX
        return await self._ladder.hand_over(
            conversation,
            client,
            SYSTEM_ACTOR,
            decision.reason,
            question,
            leave_message=decision.route == Route.LEAVE_MESSAGE,
            prefix=prefix,
        )

    async def _availability(self, client: Client) -> Availability:
        """Who could answer now: staff online per queue, and whether the first rung of the ladder is online."""
        first = await self._ladder.first_rung(client)
        return Availability(await self._assigner.online_counts(), await self._assigner.is_online(first.id))

    async def _enqueue(
        self, conversation: Conversation, client: Client, queue: QueueName, reason: EscalationReason, question: str
    ) -> Conversation:
        """Open a tier-2 ticket, queue the conversation, tell the client their place, try to assign it."""
        ticket = Ticket(
            id=uuid.uuid4().hex,
            conversation_id=conversation.id,
            client_id=client.id,
            tier=Tier.ONLINE,
            reason=reason,
            question=question,
            enqueued_at=self._clock.now(),
            queue=queue,
            priority=self._rules.priority(client),
            vip=client.vip,
        )
        await self._journal.open_ticket(ticket)
        try:
            await self._journal.move(
                conversation,
                TransitionName.ESCALATE_TO_QUEUE,
                SYSTEM_ACTOR,
                reason.value,
                queue=queue,
                ticket_id=ticket.id,
                escalation_reason=reason,
            )
        except RoutingError:
            await self._journal.save_ticket(dataclasses.replace(ticket, status=TicketStatus.CLOSED))
            raise
        position = await self._assigner.enqueue(ticket)
        await self._journal.tell_client(
            conversation.id, texts.queued(queue, position), type="queued", position=position
        )
        await self._journal.publish(Queued(conversation.id, queue.value, position, client.vip, reason.value))
        await self._assigner.auto_assign(queue)
        return await self._lookups.conversation(conversation.id)
