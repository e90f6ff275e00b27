"""Staff use cases: replies, claims, resolve, escalate, transfers, reopen, close, presence."""

from __future__ import annotations

import dataclasses

from routing import texts
from routing.assignment import TIER2_ROLES, can_serve_queue
from routing.errors import Forbidden, IllegalTransition, NoCapacity, NotFound, StaleClaim, ValidationFailed
from routing.events import Closed, PresenceChanged, Transferred, Typing
from routing.models import (
    Conversation,
    EscalationReason,
    Message,
    Presence,
    QueueName,
    SenderKind,
    ServedBy,
    Staff,
    TicketStatus,
    Tier,
)
from routing.ports import QueueEntry
from routing.service_core import CLIENT_ACTOR, MAX_ASSIGN_ROUNDS, RoutingCore, S, T
from routing.state_machine import human_holds


class StaffUseCases(RoutingCore):
    """What the agent console calls."""

    async def staff_reply(self, staff_id: str, conversation_id: str, text: str) -> Message:
        """A human answer; the first reply of a tier-3 rung accepts the conversation."""
        if not text.strip():
            raise ValidationFailed("a reply needs text")
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        if conversation.state == S.AWAITING_RESPONDER:
            await self._check_tier3_actor(staff, conversation)
            conversation = await self._move(
                conversation, T.RESPONDER_ACCEPT, staff.id, "first reply", assignee_id=staff.id
            )
            await self._update_ticket(conversation.ticket_id, assigned_to=staff.id, assigned_at=self.clock.now())
            await self._tell_client(
                conversation.id,
                texts.responder_joined(staff.name, staff.practice_number),
                type="agent_joined",
            )
            await self._publish_joined(conversation, staff)
        elif conversation.state in {S.WITH_AGENT, S.WITH_RESPONDER}:
            if conversation.assignee_id != staff.id:
                raise Forbidden(f"{staff.id} does not hold conversation {conversation.id}")
        else:
            raise IllegalTransition("staff_reply", conversation.state.value)
        now = self.clock.now()
        sender = SenderKind.RESPONDER if conversation.tier == Tier.RESPONDER else SenderKind.AGENT
        message = await self._append(conversation.id, sender, text, {}, ServedBy(conversation.tier, staff.id, now))
        ticket = await self._ticket(conversation.ticket_id)
        if ticket is not None and ticket.first_response_at is None:
            await self.record.update_ticket(dataclasses.replace(ticket, first_response_at=now))
        return message

    async def claim(self, staff_id: str, conversation_id: str | None = None) -> Conversation:
        """Take the best waiting conversation of one's queues, or a specific one (StaleClaim if gone)."""
        staff = await self._staff(staff_id)
        if staff.role not in TIER2_ROLES or not staff.skills:
            raise Forbidden(f"{staff.id} does not serve the tier-2 queues")
        if conversation_id is None:
            return await self._claim_best(staff)
        conversation = await self._conversation(conversation_id)
        if conversation.state != S.QUEUED or conversation.queue is None or conversation.ticket_id is None:
            raise StaleClaim(f"conversation {conversation_id} is no longer waiting")
        if not can_serve_queue(staff, conversation.queue):
            raise Forbidden(f"{staff.id} is not skilled for the {conversation.queue.value} queue")
        if not await self.presence.reserve(staff.id, staff.max_concurrency):
            raise NoCapacity(f"{staff.id} already serves {staff.max_concurrency} conversations")
        lease = await self.queues.claim_ticket(
            conversation.queue,
            conversation.ticket_id,
            self._claimer(staff.id),
            self.settings.claim_lease_seconds,
        )
        assigned = await self._finish_claim(lease, staff, staff.id, "claimed") if lease else None
        if assigned is None:
            await self.presence.release(staff.id)
            raise StaleClaim(f"conversation {conversation_id} was taken meanwhile")
        return assigned

    async def _claim_best(self, staff: Staff) -> Conversation:
        if not await self.presence.reserve(staff.id, staff.max_concurrency):
            raise NoCapacity(f"{staff.id} already serves {staff.max_concurrency} conversations")
        try:
            for _round in range(MAX_ASSIGN_ROUNDS):
                heads = [head for queue in sorted(staff.skills) if (head := await self.queues.peek(queue))]
                if not heads:
                    break
                best = min(heads, key=lambda entry: (-entry.priority, entry.enqueued_at, entry.ticket_id))
                lease = await self.queues.claim_head(
                    best.queue, self._claimer(staff.id), self.settings.claim_lease_seconds
                )
                if lease is None:
                    continue
                assigned = await self._finish_claim(lease, staff, staff.id, "claimed")
                if assigned is not None:
                    return assigned
        except BaseException:
            await self.presence.release(staff.id)
            raise
        await self.presence.release(staff.id)
        raise NotFound("no conversation is waiting in your queues")

    async def resolve(self, staff_id: str, conversation_id: str) -> Conversation:
        """Close the question as answered; the client is asked 问题已解答 / 问题未解答."""
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        self._check_holder(staff, conversation)
        return await self._resolve(conversation, staff.id)

    async def mark_unresolved(self, staff_id: str, conversation_id: str) -> Conversation:
        """The agent could not resolve it: tier 3."""
        return await self._agent_to_tier3(staff_id, conversation_id, EscalationReason.AGENT_UNRESOLVED)

    async def escalate_to_responder(self, staff_id: str, conversation_id: str) -> Conversation:
        """The agent (or a supervisor, also from the queue) hands it to the client's responder."""
        return await self._agent_to_tier3(staff_id, conversation_id, EscalationReason.AGENT_ESCALATED)

    async def _agent_to_tier3(self, staff_id: str, conversation_id: str, reason: EscalationReason) -> Conversation:
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        if conversation.state == S.QUEUED:
            if not self._is_supervisor(staff):
                raise Forbidden("only a supervisor escalates a conversation still in the queue")
        elif conversation.state == S.WITH_AGENT:
            self._check_holder(staff, conversation)
        else:
            raise IllegalTransition(T.ESCALATE_TO_RESPONDER.value, conversation.state.value)
        client = await self._client(conversation.client_id)
        return await self._to_tier3(conversation, client, staff.id, reason, "", prefix=texts.UNRESOLVED_PREFIX)

    async def transfer_to_queue(self, staff_id: str, conversation_id: str, queue: QueueName) -> Conversation:
        """Move to the advisor or service queue (the holder, or a supervisor for a queued one)."""
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        if conversation.state == S.QUEUED:
            if not (self._is_supervisor(staff) or (conversation.queue and can_serve_queue(staff, conversation.queue))):
                raise Forbidden(f"{staff.id} may not move conversations of this queue")
        elif conversation.state == S.WITH_AGENT:
            self._check_holder(staff, conversation)
        else:
            raise IllegalTransition(T.TRANSFER_QUEUE.value, conversation.state.value)
        now = self.clock.now()
        async with self._out_of_queue(conversation):
            after = await self._move(
                conversation, T.TRANSFER_QUEUE, staff.id, f"to {queue.value}", queue=queue, assignee_id=None
            )
        if conversation.state == S.WITH_AGENT and conversation.assignee_id:
            await self._slot_freed(conversation.assignee_id)
        ticket = await self._ticket(conversation.ticket_id)
        if ticket is None:
            raise NotFound(f"conversation {conversation_id} has no ticket")
        ticket = dataclasses.replace(
            ticket, queue=queue, status=TicketStatus.OPEN, assigned_to=None, assigned_at=None, enqueued_at=now
        )
        await self.record.update_ticket(ticket)
        await self.queues.enqueue(QueueEntry(ticket.id, conversation.id, queue, ticket.priority, now))
        position = await self.queues.position(queue, ticket.id)
        await self._tell_client(conversation.id, texts.queued(queue, position), type="queued", position=position)
        await self._publish(Transferred(conversation.id, by=staff.id, queue=queue.value))
        if conversation.queue and conversation.queue != queue:
            await self._publish_positions(conversation.queue)
        await self._auto_assign(queue)
        return await self._conversation(after.id)

    async def transfer_to_staff(self, staff_id: str, conversation_id: str, target_staff_id: str) -> Conversation:
        """Hand a tier-2 conversation to a colleague who has the skill, is online and has a free slot."""
        staff = await self._staff(staff_id)
        target = await self._staff(target_staff_id)
        conversation = await self._conversation(conversation_id)
        if conversation.state != S.WITH_AGENT or conversation.queue is None:
            raise IllegalTransition(T.TRANSFER_AGENT.value, conversation.state.value)
        self._check_holder(staff, conversation)
        if target.id == conversation.assignee_id:
            raise ValidationFailed("the conversation is already with that staff member")
        if target.role not in TIER2_ROLES or not can_serve_queue(target, conversation.queue):
            raise Forbidden(f"{target.id} is not skilled for the {conversation.queue.value} queue")
        if await self.presence.presence(target.id) != Presence.ONLINE:
            raise NoCapacity(f"{target.id} is not online")
        if not await self.presence.reserve(target.id, target.max_concurrency):
            raise NoCapacity(f"{target.id} has no free slot")
        try:
            after = await self._move(conversation, T.TRANSFER_AGENT, staff.id, f"to {target.id}", assignee_id=target.id)
        except BaseException:
            await self.presence.release(target.id)
            raise
        if conversation.assignee_id:
            await self._slot_freed(conversation.assignee_id)
        await self._update_ticket(conversation.ticket_id, assigned_to=target.id, assigned_at=self.clock.now())
        await self._tell_client(conversation.id, texts.TRANSFERRED, type="transferred")
        await self._tell_client(
            conversation.id,
            texts.agent_joined(conversation.queue, target.name, target.practice_number),
            type="agent_joined",
        )
        await self._publish(Transferred(conversation.id, by=staff.id, staff_id=target.id))
        await self._publish_joined(after, target)
        return after

    async def reopen(self, staff_id: str, conversation_id: str) -> Conversation:
        """Reopen a resolved or closed conversation with whoever last held it (holder or supervisor)."""
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        self._check_holder(staff, conversation)
        return await self._reopen(conversation, staff.id)

    async def close(self, actor_id: str | None, conversation_id: str) -> Conversation:
        """End the conversation; `actor_id` None means the client closes it."""
        conversation = await self._conversation(conversation_id)
        actor = CLIENT_ACTOR
        if actor_id is not None:
            staff = await self._staff(actor_id)
            self._check_holder(staff, conversation)
            actor = staff.id
        async with self._out_of_queue(conversation):
            after = await self._move(conversation, T.CLOSE, actor, "closed")
        if conversation.state == S.WITH_AGENT and conversation.assignee_id:
            await self._slot_freed(conversation.assignee_id)
        ticket = await self._ticket(conversation.ticket_id)
        if ticket is not None and ticket.status in {TicketStatus.OPEN, TicketStatus.ASSIGNED}:
            await self.record.update_ticket(dataclasses.replace(ticket, status=TicketStatus.CLOSED))
        await self._tell_client(conversation.id, texts.CLOSED, type="closed")
        await self._publish(Closed(conversation.id, conversation.assignee_id))
        if conversation.state == S.QUEUED and conversation.queue:
            await self._publish_positions(conversation.queue)
        return after

    async def set_presence(self, staff_id: str, presence: Presence) -> None:
        """Online / away / offline; going online pulls waiting work."""
        staff = await self._staff(staff_id)
        skills = staff.skills if staff.role in TIER2_ROLES else frozenset()
        await self.presence.set_presence(staff.id, skills, presence, self.settings.presence_ttl_seconds)
        await self.record.audit(staff.id, "presence", staff.id, {"presence": presence.value}, self.clock.now())
        await self._publish(PresenceChanged(staff.id, presence.value))
        if presence == Presence.ONLINE:
            for queue in sorted(skills):
                await self._auto_assign(queue)

    async def staff_typing(self, staff_id: str, conversation_id: str) -> bool:
        """Tell the client their agent or responder is typing; False (nothing sent) unless they hold it."""
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        if conversation.assignee_id != staff.id or not human_holds(conversation.state):
            return False
        sender = SenderKind.RESPONDER if conversation.tier == Tier.RESPONDER else SenderKind.AGENT
        await self._publish(Typing(conversation.id, sender.value, staff.name))
        return True

    async def login_credentials(self, staff_id: str) -> tuple[Staff, str | None] | None:
        """The staff member and their stored password hash, or None for an unknown id."""
        staff = await self.record.get_staff(staff_id)
        if staff is None:
            return None
        return staff, await self.record.get_password_hash(staff.id)

    async def heartbeat(self, staff_id: str) -> bool:
        """Keep presence alive; False if it already lapsed (the console should set it again)."""
        staff = await self._staff(staff_id)
        return await self.presence.heartbeat(staff.id, self.settings.presence_ttl_seconds)
