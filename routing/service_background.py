"""Background work: lease reclaim, auto-assignment, the tier-2 wait limit, the responder ladder, rebuild."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import timedelta

from routing import texts
from routing.assignment import TIER2_ROLES
from routing.errors import NoCapacity, StaleClaim, StaleConversation
from routing.events import Escalated
from routing.models import EscalationReason, QueueName, ResponderStep, TicketStatus, Tier
from routing.ports import QueueEntry
from routing.service_core import QUEUE_SCAN_LIMIT, SYSTEM_ACTOR, RoutingCore, S, T


@dataclass(frozen=True)
class TickReport:
    """What one `tick` did."""

    reclaimed: int = 0
    assigned: int = 0
    wait_limit_escalations: int = 0
    ladder_steps: int = 0


class Background(RoutingCore):
    """Periodic work every worker may run."""

    async def tick(self) -> TickReport:
        """Reclaim lapsed leases, auto-assign, apply the tier-2 wait limit and the responder ladder.

        Idempotent and safe to run from many workers at once: every move is a lease or a
        compare-and-set, and the loser of a race skips.
        """
        reclaimed = len(await self.queues.reclaim_expired())
        assigned = 0
        for queue in QueueName:
            assigned += await self._auto_assign(queue)
        escalated = await self._apply_wait_limit()
        steps = await self._advance_ladder()
        return TickReport(reclaimed, assigned, escalated, steps)

    async def _apply_wait_limit(self) -> int:
        now = self.clock.now()
        limit = timedelta(seconds=self.settings.tier2_wait_limit_seconds)
        claimer = self._claimer(SYSTEM_ACTOR)
        escalated = 0
        for queue in QueueName:
            overdue = [e for e in await self.queues.entries(queue, QUEUE_SCAN_LIMIT) if now - e.enqueued_at >= limit]
            for entry in overdue:
                lease = await self.queues.claim_ticket(
                    queue, entry.ticket_id, claimer, self.settings.claim_lease_seconds
                )
                if lease is None:
                    continue
                conversation = await self.record.get_conversation(entry.conversation_id)
                if conversation is None or conversation.state != S.QUEUED or conversation.ticket_id != entry.ticket_id:
                    await self.queues.ack(entry.ticket_id, claimer)
                    continue
                await self.queues.requeue(entry.ticket_id, claimer)  # _to_tier3 takes it under its own lease
                try:
                    client = await self._client(conversation.client_id)
                    await self._to_tier3(
                        conversation,
                        client,
                        SYSTEM_ACTOR,
                        EscalationReason.WAIT_LIMIT,
                        "",
                        prefix=texts.WAIT_LIMIT_PREFIX,
                    )
                except (StaleConversation, StaleClaim):
                    continue
                escalated += 1
        return escalated

    async def _advance_ladder(self) -> int:
        now = self.clock.now()
        steps = 0
        for conversation in await self.record.conversations_in_states({S.AWAITING_RESPONDER}):
            ticket = await self._ticket(conversation.ticket_id)
            if ticket is None or ticket.responder_deadline is None or ticket.responder_deadline > now:
                continue
            current = ticket.responder_step if ticket.responder_step is not None else ResponderStep.RESPONDER
            if current >= ResponderStep.DUTY_MANAGER:
                continue
            client = await self._client(conversation.client_id)
            try:
                step, target = await self._ladder_target(
                    client, ResponderStep(current + 1), skip=conversation.assignee_id
                )
                after = await self._move(
                    conversation,
                    T.RESPONDER_REASSIGN,
                    SYSTEM_ACTOR,
                    f"{EscalationReason.RESPONDER_TIMEOUT.value}: {step.name.lower()}",
                    assignee_id=target.id,
                    escalation_reason=EscalationReason.RESPONDER_TIMEOUT,
                )
            except (StaleConversation, NoCapacity):
                continue
            await self.record.update_ticket(
                dataclasses.replace(
                    ticket,
                    responder_step=step,
                    responder_deadline=self._responder_deadline(now),
                    assigned_to=target.id,
                    assigned_at=now,
                )
            )
            await self._publish(
                Escalated(
                    conversation_id=after.id,
                    tier=int(Tier.RESPONDER),
                    staff_id=target.id,
                    reason=EscalationReason.RESPONDER_TIMEOUT.value,
                    step=step.name.lower(),
                )
            )
            steps += 1
        return steps

    async def rebuild_queues(self) -> int:
        """After a Redis flush or restart: re-enqueue every waiting ticket and reset agent loads."""
        restored = 0
        for ticket in await self.record.open_tickets():
            if ticket.tier != Tier.ONLINE or ticket.status != TicketStatus.OPEN or ticket.queue is None:
                continue
            conversation = await self.record.get_conversation(ticket.conversation_id)
            if conversation is None or conversation.state != S.QUEUED or conversation.ticket_id != ticket.id:
                continue
            if await self.queues.location(ticket.id) is not None:
                continue
            await self.queues.enqueue(
                QueueEntry(ticket.id, ticket.conversation_id, ticket.queue, ticket.priority, ticket.enqueued_at)
            )
            restored += 1
        active: dict[str, int] = {}
        for conversation in await self.record.conversations_in_states({S.WITH_AGENT}):
            if conversation.assignee_id:
                active[conversation.assignee_id] = active.get(conversation.assignee_id, 0) + 1
        for member in await self.record.list_staff():
            if member.role in TIER2_ROLES:
                await self.presence.set_load(member.id, active.get(member.id, 0))
        await self.record.audit(SYSTEM_ACTOR, "queues.rebuild", "queues", {"restored": restored}, self.clock.now())
        return restored
