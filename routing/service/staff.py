"""The staff's use cases: replies, claims, resolve, escalate, transfers, reopen, close, typing."""

from __future__ import annotations

import dataclasses

from routing import texts
from routing.errors import DuplicateClientMessage, Forbidden, IllegalTransition, NotFound, StaleClaim, ValidationFailed
from routing.events import Transferred, Typing
from routing.models import (
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
    QueueName,
    SenderKind,
    ServedBy,
    Staff,
    TicketStatus,
    Tier,
)
from routing.ports import Clock
from routing.service import access
from routing.service.assigner import Assigner
from routing.service.journal import CLIENT_ACTOR, Journal
from routing.service.lookups import Lookups
from routing.service.outcomes import Outcomes
from routing.state_machine import TransitionName, being_served, human_holds, in_tier2_queue_or_service

S = ConversationState
T = TransitionName


class StaffUseCases:
    """What the agent console (and a responder's WeCom) calls."""

    def __init__(
        self, lookups: Lookups, journal: Journal, assigner: Assigner, outcomes: Outcomes, clock: Clock
    ) -> None:
        self._lookups = lookups
        self._journal = journal
        self._assigner = assigner
        self._outcomes = outcomes
        self._clock = clock

    async def _check_active(self, staff: Staff) -> None:
        """A disabled member answers and takes nothing (also from WeCom, where no staff token is checked).

        Read as stored now, not from the lookups' cache, so a member disabled on another worker stops at once.
        """
        current = await self._lookups.find_staff(staff.id)
        if current is None or not current.active:
            raise Forbidden(f"staff member {staff.id} is disabled")

    async def staff_reply(self, staff_id: str, conversation_id: str, text: str, reply_id: str | None = None) -> Message:
        """A human answer; the first reply of a tier-3 rung accepts the conversation.

        With the console's own `reply_id`, a reply sent again (the answer was lost) is stored once: the stored
        one is returned.
        """
        if not text.strip():
            raise ValidationFailed("a reply needs text")
        staff = await self._lookups.staff(staff_id)
        await self._check_active(staff)
        conversation = await self._lookups.conversation(conversation_id)
        if conversation.state == S.AWAITING_RESPONDER:
            conversation = await self._accept(staff, conversation)
        elif being_served(conversation.state):
            access.check_replier(staff, conversation)
        else:
            raise IllegalTransition("staff_reply", conversation.state.value)
        now = self._clock.now()
        sender = _sender_of(conversation)
        served = ServedBy(conversation.tier, staff.id, now)
        try:
            message = await self._journal.append(conversation.id, sender, text, {}, served, client_msg_id=reply_id)
        except DuplicateClientMessage as resent:
            if resent.existing.served_by is None or resent.existing.served_by.staff_id != staff.id:
                raise ValidationFailed("reply_id is already used in this conversation") from None
            return resent.existing
        ticket = await self._lookups.ticket(conversation.ticket_id)
        if ticket is not None and ticket.first_response_at is None:
            await self._journal.save_ticket(dataclasses.replace(ticket, first_response_at=now))
        return message

    async def _accept(self, staff: Staff, conversation: Conversation) -> Conversation:
        """A tier-3 rung (or the client's responder, or a supervisor) takes the conversation by replying."""
        access.check_tier3_actor(staff, conversation, await self._lookups.client_of(conversation))
        accepted = await self._journal.move(
            conversation, T.RESPONDER_ACCEPT, staff.id, "first reply", assignee_id=staff.id
        )
        await self._journal.patch_ticket(accepted.ticket_id, assigned_to=staff.id, assigned_at=accepted.updated_at)
        joined = texts.responder_joined(staff.name, staff.practice_number)
        await self._journal.tell_client(accepted.id, joined, type="agent_joined")
        await self._journal.announce_joined(accepted, staff)
        return accepted

    async def claim(self, staff_id: str, conversation_id: str | None = None) -> Conversation:
        """Take the best waiting conversation of one's queues, or a specific one (StaleClaim if gone)."""
        staff = await self._lookups.staff(staff_id)
        await self._check_active(staff)
        access.check_may_claim(staff)
        if conversation_id is None:
            return await self._assigner.claim_best(staff)
        conversation = await self._lookups.conversation(conversation_id)
        if conversation.state != S.QUEUED or conversation.queue is None or conversation.ticket_id is None:
            raise StaleClaim(f"conversation {conversation_id} is no longer waiting")
        access.check_serves_queue(staff, conversation.queue)
        return await self._assigner.claim_waiting(staff, conversation)

    async def resolve(self, staff_id: str, conversation_id: str) -> Conversation:
        """Close the question as answered; the client is asked 问题已解答 / 问题未解答."""
        staff, conversation = await self._held(staff_id, conversation_id)
        return await self._outcomes.resolve(conversation, staff.id)

    async def mark_unresolved(self, staff_id: str, conversation_id: str) -> Conversation:
        """The agent could not resolve it: tier 3."""
        return await self._to_tier3(staff_id, conversation_id, EscalationReason.AGENT_UNRESOLVED)

    async def escalate_to_responder(self, staff_id: str, conversation_id: str) -> Conversation:
        """The agent (or a supervisor, also from the queue) hands it to the client's responder."""
        return await self._to_tier3(staff_id, conversation_id, EscalationReason.AGENT_ESCALATED)

    async def _to_tier3(self, staff_id: str, conversation_id: str, reason: EscalationReason) -> Conversation:
        staff = await self._lookups.staff(staff_id)
        conversation = await self._lookups.conversation(conversation_id)
        if not in_tier2_queue_or_service(conversation.state):
            raise IllegalTransition(T.ESCALATE_TO_RESPONDER.value, conversation.state.value)
        access.check_may_escalate(staff, conversation, await self._lookups.client_of(conversation))
        return await self._outcomes.unresolved(conversation, staff.id, reason)

    async def transfer_to_queue(self, staff_id: str, conversation_id: str, queue: QueueName) -> Conversation:
        """Move to the advisor or service queue (the holder, or a supervisor for a queued one)."""
        staff = await self._lookups.staff(staff_id)
        conversation = await self._lookups.conversation(conversation_id)
        if not in_tier2_queue_or_service(conversation.state):
            raise IllegalTransition(T.TRANSFER_QUEUE.value, conversation.state.value)
        access.check_may_requeue(staff, conversation, await self._lookups.client_of(conversation))
        async with self._assigner.out_of_queue(conversation):
            after = await self._journal.move(
                conversation, T.TRANSFER_QUEUE, staff.id, f"to {queue.value}", queue=queue, assignee_id=None
            )
        await self._assigner.free_agent_of(conversation)
        ticket = await self._lookups.ticket(conversation.ticket_id)
        if ticket is None:
            raise NotFound(f"conversation {conversation_id} has no ticket")
        ticket = dataclasses.replace(
            ticket,
            queue=queue,
            status=TicketStatus.OPEN,
            assigned_to=None,
            assigned_at=None,
            enqueued_at=self._clock.now(),
        )
        await self._journal.save_ticket(ticket)
        position = await self._assigner.enqueue(ticket)
        await self._journal.tell_client(
            conversation.id, texts.queued(queue, position), type="queued", position=position
        )
        await self._journal.publish(Transferred(conversation.id, by=staff.id, queue=queue.value))
        if conversation.queue and conversation.queue != queue:
            await self._assigner.publish_positions(conversation.queue)
        await self._assigner.auto_assign(queue)
        return await self._lookups.conversation(after.id)

    async def transfer_to_staff(self, staff_id: str, conversation_id: str, target_staff_id: str) -> Conversation:
        """Hand a tier-2 conversation to a colleague who has the skill, is online and has a free slot."""
        staff = await self._lookups.staff(staff_id)
        target = await self._lookups.staff(target_staff_id)
        conversation = await self._lookups.conversation(conversation_id)
        if conversation.state != S.WITH_AGENT or conversation.queue is None:
            raise IllegalTransition(T.TRANSFER_AGENT.value, conversation.state.value)
        await self._check_holder(staff, conversation)
        if target.id == conversation.assignee_id:
            raise ValidationFailed("the conversation is already with that staff member")
        access.check_serves_queue(target, conversation.queue)
        await self._assigner.reserve_for_transfer(target)
        try:
            after = await self._journal.move(
                conversation, T.TRANSFER_AGENT, staff.id, f"to {target.id}", assignee_id=target.id
            )
        except BaseException:
            await self._assigner.release(target.id)
            raise
        await self._assigner.free_agent_of(conversation)
        await self._journal.patch_ticket(conversation.ticket_id, assigned_to=target.id, assigned_at=after.updated_at)
        await self._journal.tell_client(conversation.id, texts.TRANSFERRED, type="transferred")
        joined = texts.agent_joined(conversation.queue, target.name, target.practice_number)
        await self._journal.tell_client(conversation.id, joined, type="agent_joined")
        await self._journal.publish(Transferred(conversation.id, by=staff.id, staff_id=target.id))
        await self._journal.announce_joined(after, target)
        return after

    async def reopen(self, staff_id: str, conversation_id: str) -> Conversation:
        """Reopen a resolved or closed conversation with whoever last held it (holder or supervisor)."""
        staff, conversation = await self._held(staff_id, conversation_id)
        return await self._outcomes.reopen(conversation, staff.id)

    async def close(self, actor_id: str | None, conversation_id: str) -> Conversation:
        """End the conversation; `actor_id` None means the client closes it."""
        if actor_id is None:
            return await self._outcomes.close(await self._lookups.conversation(conversation_id), CLIENT_ACTOR)
        staff, conversation = await self._held(actor_id, conversation_id)
        return await self._outcomes.close(conversation, staff.id)

    async def staff_typing(self, staff_id: str, conversation_id: str) -> bool:
        """Tell the client their agent or responder is typing; False (nothing sent) unless they hold it."""
        staff = await self._lookups.staff(staff_id)
        conversation = await self._lookups.conversation(conversation_id)
        if not access.holds(staff, conversation) or not human_holds(conversation.state):
            return False
        await self._journal.publish(Typing(conversation.id, _sender_of(conversation).value, staff.name))
        return True

    async def _held(self, staff_id: str, conversation_id: str) -> tuple[Staff, Conversation]:
        """The staff member and the conversation they hold (or supervise the client of); Forbidden otherwise."""
        staff = await self._lookups.staff(staff_id)
        conversation = await self._lookups.conversation(conversation_id)
        await self._check_holder(staff, conversation)
        return staff, conversation

    async def _check_holder(self, staff: Staff, conversation: Conversation) -> None:
        """Forbidden unless the staff member holds it or supervises its client (read only when needed)."""
        if not access.holds(staff, conversation):
            access.check_holder(staff, conversation, await self._lookups.client_of(conversation))


def _sender_of(conversation: Conversation) -> SenderKind:
    """Who a person's message is from: a responder at tier 3, an agent otherwise."""
    return SenderKind.RESPONDER if conversation.tier == Tier.RESPONDER else SenderKind.AGENT
