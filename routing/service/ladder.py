"""The ladder: tier 3, the guaranteed last stop. The client's responder, then their backup, then the duty manager.

A hand-over opens a tier-3 ticket with the rung's first-reply deadline; `advance_overdue` moves a
conversation nobody answered in time to the next rung, and `apply_wait_limit` hands over queued
conversations that waited too long for tier 2.
"""

from __future__ import annotations

import dataclasses
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Protocol

from routing import texts
from routing.errors import NoCapacity, RoutingError, StaleClaim, StaleConversation
from routing.events import Escalated
from routing.models import (
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    QueueName,
    ResponderStep,
    Staff,
    Ticket,
    TicketStatus,
    Tier,
)
from routing.ports import Clock, QueueEntry
from routing.records import Record
from routing.service.journal import SYSTEM_ACTOR, Journal
from routing.service.lookups import Lookups
from routing.service.rules import RoutingRules
from routing.state_machine import TransitionName


class Seats(Protocol):
    """What the ladder needs of tier-2 seating when a conversation leaves it (routing.service.assigner)."""

    def out_of_queue(self, conversation: Conversation) -> AbstractAsyncContextManager[None]:
        """Hold a queued conversation's entry while it moves away; a plain block otherwise."""
        ...

    async def free_agent_of(self, before: Conversation) -> None:
        """The tier-2 agent who held the conversation has a slot free again."""
        ...

    async def publish_positions(self, queue: QueueName) -> None:
        """Tell the waiting clients their new place."""
        ...

    async def overdue(self, limit: timedelta, now: datetime) -> list[QueueEntry]:
        """Entries waiting `limit` or longer."""
        ...

    async def check_waiting(self, entry: QueueEntry) -> Conversation | None:
        """The conversation the entry stands for, if it still waits."""
        ...


class Ladder:
    """Hands conversations to tier 3 and moves them up the ladder when a rung does not answer."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self, record: Record, lookups: Lookups, journal: Journal, seats: Seats, rules: RoutingRules, clock: Clock
    ) -> None:
        self._record = record
        self._lookups = lookups
        self._journal = journal
        self._seats = seats
        self._rules = rules
        self._clock = clock

    async def target(
        self, client: Client, start: ResponderStep, skip: str | None = None
    ) -> tuple[ResponderStep, Staff]:
        """The first existing person on the ladder from `start` (other than `skip`); NoCapacity if none."""
        responder = await self._lookups.find_staff(client.responder_id)
        for step in ResponderStep:
            if step < start:
                continue
            if step == ResponderStep.RESPONDER:
                person = responder
            elif step == ResponderStep.BACKUP:
                person = await self._lookups.find_staff(responder.backup_id if responder else None)
            else:
                person = await self._lookups.duty_manager(client.branch)
            if person is not None and person.active and person.id != skip:
                return step, person
        raise NoCapacity(f"nobody on the responder ladder of client {client.id} from step {start.name}")

    async def first_rung(self, client: Client) -> Staff:
        """Who a hand-over would reach first."""
        _step, person = await self.target(client, ResponderStep.RESPONDER)
        return person

    async def hand_over(
        self,
        before: Conversation,
        client: Client,
        actor: str,
        reason: EscalationReason,
        question: str = "",
        *,
        leave_message: bool = False,
        prefix: str = "",
    ) -> Conversation:
        """Hand the conversation to the client's responder (or the next rung) with a tier-3 ticket.

        `leave_message`: the client leaves a message for the responder (nobody can answer now).
        """
        old_ticket = await self._lookups.ticket(before.ticket_id)
        question = question or (old_ticket.question if old_ticket else "")
        ticket, target = await self._open_tier3_ticket(before, client, reason, question)
        name = TransitionName.LEAVE_MESSAGE if leave_message else TransitionName.ESCALATE_TO_RESPONDER
        try:
            async with self._seats.out_of_queue(before):
                after = await self._journal.move(
                    before,
                    name,
                    actor,
                    reason.value,
                    queue=None,
                    assignee_id=target.id,
                    ticket_id=ticket.id,
                    escalation_reason=reason,
                )
        except RoutingError:
            await self._journal.save_ticket(dataclasses.replace(ticket, status=TicketStatus.CLOSED))
            raise
        await self._seats.free_agent_of(before)
        await self._journal.retire_ticket(old_ticket, TicketStatus.ESCALATED)
        await self._announce(after, target, reason, leave_message, prefix)
        if before.state == ConversationState.QUEUED and before.queue:
            await self._seats.publish_positions(before.queue)
        return after

    async def apply_wait_limit(self) -> int:
        """Hand every conversation that waited in a tier-2 queue past the limit to tier 3; how many."""
        escalated = 0
        for entry in await self._seats.overdue(self._rules.wait_limit, self._clock.now()):
            conversation = await self._seats.check_waiting(entry)
            if conversation is None:
                continue
            try:
                client = await self._lookups.client_of(conversation)
                await self.hand_over(
                    conversation, client, SYSTEM_ACTOR, EscalationReason.WAIT_LIMIT, prefix=texts.WAIT_LIMIT_PREFIX
                )
            except (StaleConversation, StaleClaim):
                continue
            escalated += 1
        return escalated

    async def advance_overdue(self) -> int:
        """Move every tier-3 conversation whose rung missed its deadline to the next rung; how many."""
        now = self._clock.now()
        steps = 0
        for conversation in await self._record.conversations_in_states({ConversationState.AWAITING_RESPONDER}):
            ticket = await self._lookups.ticket(conversation.ticket_id)
            if ticket is None or ticket.responder_deadline is None or ticket.responder_deadline > now:
                continue
            if await self._advance(conversation, ticket, now):
                steps += 1
        return steps

    async def pass_on(self, conversation: Conversation) -> bool:
        """A tier-3 conversation whose holder was disabled goes to the next active rung; False if none."""
        ticket = await self._lookups.ticket(conversation.ticket_id)
        if ticket is None:
            return False
        return await self._advance(conversation, ticket, self._clock.now(), EscalationReason.STAFF_DISABLED)

    async def _advance(
        self,
        conversation: Conversation,
        ticket: Ticket,
        now: datetime,
        reason: EscalationReason = EscalationReason.RESPONDER_TIMEOUT,
    ) -> bool:
        """One step up the ladder (an overdue rung, or a disabled holder); False if at the top or it moved."""
        current = ticket.responder_step if ticket.responder_step is not None else ResponderStep.RESPONDER
        if current >= ResponderStep.DUTY_MANAGER and reason != EscalationReason.STAFF_DISABLED:
            return False
        client = await self._lookups.client_of(conversation)
        start = ResponderStep(min(current + 1, ResponderStep.DUTY_MANAGER))
        try:
            step, target = await self.target(client, start, skip=conversation.assignee_id)
            after = await self._journal.move(
                conversation,
                TransitionName.RESPONDER_REASSIGN,
                SYSTEM_ACTOR,
                f"{reason.value}: {step.name.lower()}",
                assignee_id=target.id,
                escalation_reason=reason,
            )
        except (StaleConversation, NoCapacity):
            return False
        await self._journal.save_ticket(
            dataclasses.replace(
                ticket,
                responder_step=step,
                responder_deadline=self._rules.first_reply_due(now),
                assigned_to=target.id,
                assigned_at=now,
            )
        )
        await self._journal.publish(
            Escalated(after.id, int(Tier.RESPONDER), target.id, reason.value, step=step.name.lower())
        )
        return True

    async def _open_tier3_ticket(
        self, conversation: Conversation, client: Client, reason: EscalationReason, question: str
    ) -> tuple[Ticket, Staff]:
        """Store a tier-3 ticket assigned to the first rung, due by the first-reply deadline; and that rung."""
        now = self._clock.now()
        step, target = await self.target(client, ResponderStep.RESPONDER)
        ticket = Ticket(
            id=uuid.uuid4().hex,
            conversation_id=conversation.id,
            client_id=client.id,
            tier=Tier.RESPONDER,
            reason=reason,
            question=question,
            enqueued_at=now,
            priority=self._rules.priority(client),
            vip=client.vip,
            status=TicketStatus.ASSIGNED,
            assigned_to=target.id,
            assigned_at=now,
            responder_step=step,
            responder_deadline=self._rules.first_reply_due(now),
        )
        await self._journal.open_ticket(ticket)
        return ticket, target

    async def _announce(
        self, after: Conversation, target: Staff, reason: EscalationReason, leave_message: bool, prefix: str
    ) -> None:
        """Tell the client who will answer (or that their message is left) and publish the hand-over."""
        if leave_message:
            await self._journal.tell_client(after.id, texts.leave_message(prefix), type="leave_message")
        else:
            await self._journal.tell_client(
                after.id, texts.responder_assigned(target.name, prefix), type="handoff", tier=int(Tier.RESPONDER)
            )
        await self._journal.publish(
            Escalated(after.id, int(Tier.RESPONDER), target.id, reason.value, leave_message=leave_message)
        )
