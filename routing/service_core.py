"""The routing service's shared machinery: lookups, recorded transitions, events, access rules,
queue leases and assignment, and the hand-over to tier 3.

The use cases (routing.service_client, service_staff, service_views, service_background) build on
this base; routing.service.RoutingService combines them.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from routing import texts
from routing.assignment import TIER2_ROLES, Candidate, assignment_order, can_serve_queue
from routing.calendar import ServiceCalendar
from routing.errors import Forbidden, NoCapacity, NotFound, RoutingError, StaleClaim, StaleConversation
from routing.events import (
    AgentJoined,
    Escalated,
    MessageAdded,
    PositionChanged,
    Reopened,
    Resolved,
    RoutingEvent,
)
from routing.models import (
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
    QueueName,
    ResponderStep,
    Role,
    SenderKind,
    ServedBy,
    Staff,
    Ticket,
    TicketStatus,
    Tier,
)
from routing.policy import PriorityRules
from routing.ports import Clock, EventBus, IdempotencyStore, Lease, PresenceStore, QuestionClassifier, QueueStore
from routing.records import Record
from routing.settings import RoutingSettings
from routing.state_machine import KEEP, Keep, TransitionName, apply, in_tier2_queue_or_service

S = ConversationState
T = TransitionName
SYSTEM_ACTOR = "system"
CLIENT_ACTOR = "client"
SUPERVISOR_ROLES = frozenset({Role.ADMIN, Role.DUTY_MANAGER})
STAFF_CACHE_SECONDS = 30.0
MAX_ASSIGN_ROUNDS = 200
QUEUE_SCAN_LIMIT = 10_000


class RoutingCore:
    """State and helpers every routing use case shares."""

    def __init__(  # noqa: PLR0917 - the contract's constructor
        self,
        record: Record,
        queues: QueueStore,
        presence: PresenceStore,
        events: EventBus,
        idempotency: IdempotencyStore,
        clock: Clock,
        classifier: QuestionClassifier,
        settings: RoutingSettings,
    ) -> None:
        self.record = record
        self.queues = queues
        self.presence = presence
        self.events = events
        self.idempotency = idempotency
        self.clock = clock
        self.classifier = classifier
        self.settings = settings
        self.calendar = ServiceCalendar.build(
            settings.timezone, settings.weekday_hours, settings.holidays, settings.always_open
        )
        self.priorities = PriorityRules(settings.client_tier_ranks, settings.vip_priority_boost)
        self.worker_id = f"w-{uuid.uuid4().hex[:12]}"
        self._staff_cache: dict[str, tuple[Staff, float]] = {}

    async def _conversation(self, conversation_id: str) -> Conversation:
        conversation = await self.record.get_conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"unknown conversation {conversation_id!r}")
        return conversation

    async def _staff(self, staff_id: str) -> Staff:
        cached = self._staff_cache.get(staff_id)
        if cached is not None and time.monotonic() - cached[1] < STAFF_CACHE_SECONDS:
            return cached[0]
        staff = await self.record.get_staff(staff_id)
        if staff is None:
            raise NotFound(f"unknown staff member {staff_id!r}")
        self._staff_cache[staff_id] = (staff, time.monotonic())
        return staff

    async def _client(self, client_id: str) -> Client:
        client = await self.record.get_client(client_id)
        if client is None:
            raise NotFound(f"unknown client {client_id!r}")
        return client

    async def _ticket(self, ticket_id: str | None) -> Ticket | None:
        return None if ticket_id is None else await self.record.get_ticket(ticket_id)

    async def _update_ticket(self, ticket_id: str | None, **changes: object) -> None:
        ticket = await self._ticket(ticket_id)
        if ticket is not None:
            await self.record.update_ticket(dataclasses.replace(ticket, **changes))  # type: ignore[arg-type]

    def _claimer(self, staff_id: str) -> str:
        return f"{self.worker_id}:{staff_id}"

    async def _move(
        self,
        before: Conversation,
        name: TransitionName,
        actor: str,
        reason: str,
        *,
        queue: QueueName | Keep | None = KEEP,
        assignee_id: str | Keep | None = KEEP,
        ticket_id: str | Keep | None = KEEP,
        escalation_reason: EscalationReason | Keep | None = KEEP,
    ) -> Conversation:
        """Apply and record one transition (compare-and-set), then audit it."""
        now = self.clock.now()
        after, transition = apply(
            before,
            name,
            actor,
            reason,
            now,
            queue=queue,
            assignee_id=assignee_id,
            ticket_id=ticket_id,
            escalation_reason=escalation_reason,
        )
        await self.record.save_transition(before, after, transition)
        await self.record.audit(
            actor,
            f"transition.{name.value}",
            before.id,
            {
                "from": before.state.value,
                "to": after.state.value,
                "tier": int(after.tier),
                "reason": reason,
                "assignee_id": after.assignee_id,
                "queue": after.queue.value if after.queue else None,
            },
            now,
        )
        return after

    async def _publish(self, event: RoutingEvent) -> None:
        await self.events.publish(event)

    async def _append(
        self,
        conversation_id: str,
        sender: SenderKind,
        text: str,
        payload: dict[str, object] | None = None,
        served_by: ServedBy | None = None,
    ) -> Message:
        message = await self.record.append_message(
            conversation_id, sender, text, payload or {}, served_by, self.clock.now()
        )
        await self._publish(
            MessageAdded(
                conversation_id=conversation_id,
                message_id=message.id,
                seq=message.seq,
                sender=sender.value,
                text=text,
                payload=message.payload,
                served_tier=int(served_by.tier) if served_by else None,
                staff_id=served_by.staff_id if served_by else None,
                at=message.created_at.isoformat(),
            )
        )
        return message

    async def _tell_client(self, conversation_id: str, text: str, **payload: object) -> Message:
        return await self._append(conversation_id, SenderKind.SYSTEM, text, dict(payload))

    async def _publish_positions(self, queue: QueueName) -> None:
        for position, entry in enumerate(await self.queues.entries(queue, limit=100), start=1):
            await self._publish(PositionChanged(entry.conversation_id, queue.value, position))

    async def _publish_joined(self, conversation: Conversation, staff: Staff) -> None:
        await self._publish(
            AgentJoined(
                conversation_id=conversation.id,
                staff_id=staff.id,
                staff_name=staff.name,
                tier=int(conversation.tier),
                practice_number=staff.practice_number,
            )
        )

    def _is_supervisor(self, staff: Staff) -> bool:
        return staff.role in SUPERVISOR_ROLES

    async def _check_can_view(self, staff: Staff, conversation: Conversation) -> None:
        if self._is_supervisor(staff) or conversation.assignee_id == staff.id:
            return
        client = await self._client(conversation.client_id)
        if client.responder_id == staff.id:
            return
        if (
            staff.role in TIER2_ROLES
            and conversation.queue is not None
            and in_tier2_queue_or_service(conversation.state)
            and can_serve_queue(staff, conversation.queue)
        ):
            return
        raise Forbidden(f"{staff.id} may not see conversation {conversation.id}")

    def _check_holder(self, staff: Staff, conversation: Conversation) -> None:
        """Only the assignee (or an admin / duty manager) acts on an assigned conversation."""
        if conversation.assignee_id != staff.id and not self._is_supervisor(staff):
            raise Forbidden(f"{staff.id} does not hold conversation {conversation.id}")

    async def _check_tier3_actor(self, staff: Staff, conversation: Conversation) -> None:
        """The ladder's current rung, the client's own responder, or a supervisor."""
        if conversation.assignee_id == staff.id or self._is_supervisor(staff):
            return
        client = await self._client(conversation.client_id)
        if client.responder_id != staff.id:
            raise Forbidden(f"{staff.id} is not the responder of this client")

    async def _last_client_text(self, conversation_id: str) -> str:
        latest = await self.record.latest_messages(conversation_id, limit=1, sender=SenderKind.CLIENT)
        return latest[-1].text if latest else ""

    async def _ladder_target(
        self, client: Client, start: ResponderStep, skip: str | None = None
    ) -> tuple[ResponderStep, Staff]:
        """The first existing person on the ladder from `start`: responder, backup, duty manager."""
        responder = await self.record.get_staff(client.responder_id)
        for step in ResponderStep:
            if step < start:
                continue
            person: Staff | None
            if step == ResponderStep.RESPONDER:
                person = responder
            elif step == ResponderStep.BACKUP:
                backup_id = responder.backup_id if responder else None
                person = await self.record.get_staff(backup_id) if backup_id else None
            else:
                person = await self.record.duty_manager(client.branch)
            if person is not None and person.id != skip:
                return step, person
        raise NoCapacity(f"nobody on the responder ladder of client {client.id} from step {start.name}")

    async def _to_tier3(  # noqa: PLR0917
        self,
        before: Conversation,
        client: Client,
        actor: str,
        reason: EscalationReason,
        question: str,
        name: TransitionName = T.ESCALATE_TO_RESPONDER,
        prefix: str = "",
    ) -> Conversation:
        """Hand the conversation to the client's responder (or the next rung) with a tier-3 ticket."""
        now = self.clock.now()
        step, target = await self._ladder_target(client, ResponderStep.RESPONDER)
        old_ticket = await self._ticket(before.ticket_id)
        ticket = Ticket(
            id=uuid.uuid4().hex,
            conversation_id=before.id,
            client_id=client.id,
            tier=Tier.RESPONDER,
            reason=reason,
            question=question or (old_ticket.question if old_ticket else ""),
            enqueued_at=now,
            priority=self.priorities.priority(client),
            vip=client.vip,
            status=TicketStatus.ASSIGNED,
            assigned_to=target.id,
            assigned_at=now,
            responder_step=step,
            responder_deadline=self._responder_deadline(now),
        )
        await self.record.open_ticket(ticket)
        try:
            async with self._out_of_queue(before):
                after = await self._move(
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
            await self.record.update_ticket(dataclasses.replace(ticket, status=TicketStatus.CLOSED))
            raise
        if before.state == S.WITH_AGENT and before.assignee_id:
            await self._slot_freed(before.assignee_id)
        if old_ticket and old_ticket.status in {TicketStatus.OPEN, TicketStatus.ASSIGNED}:
            await self.record.update_ticket(dataclasses.replace(old_ticket, status=TicketStatus.ESCALATED))
        if name == T.LEAVE_MESSAGE:
            await self._tell_client(before.id, texts.leave_message(prefix), type="leave_message")
        else:
            await self._tell_client(
                before.id,
                texts.responder_assigned(target.name, prefix),
                type="handoff",
                tier=int(Tier.RESPONDER),
            )
        await self._publish(
            Escalated(
                conversation_id=before.id,
                tier=int(Tier.RESPONDER),
                staff_id=target.id,
                reason=reason.value,
                leave_message=name == T.LEAVE_MESSAGE,
            )
        )
        if before.state == S.QUEUED and before.queue:
            await self._publish_positions(before.queue)
        return after

    def _responder_deadline(self, now: datetime) -> datetime:
        """First reply due: the responder limit, counted from the next service opening."""
        return self.calendar.next_open(now) + timedelta(seconds=self.settings.responder_limit_seconds)

    @asynccontextmanager
    async def _out_of_queue(self, conversation: Conversation) -> AsyncIterator[None]:
        """For a queued conversation, hold its ticket under a lease while the block moves it away.

        StaleClaim if someone else holds it (an assignment in flight); the ticket goes back if the
        block fails, and leaves the queue for good if it succeeds.
        """
        if conversation.state != S.QUEUED or conversation.queue is None or conversation.ticket_id is None:
            yield
            return
        claimer = self._claimer(SYSTEM_ACTOR)
        lease = await self.queues.claim_ticket(
            conversation.queue, conversation.ticket_id, claimer, self.settings.claim_lease_seconds
        )
        if lease is None and await self.queues.location(conversation.ticket_id) is not None:
            raise StaleClaim(f"conversation {conversation.id} is being assigned; try again")
        try:
            yield
        except BaseException:
            if lease is not None:
                await self.queues.requeue(lease.entry.ticket_id, claimer)
            raise
        if lease is not None:
            await self.queues.ack(lease.entry.ticket_id, claimer)

    async def _finish_claim(self, lease: Lease, staff: Staff, actor: str, reason: str) -> Conversation | None:
        """Turn a lease into an assignment; None (lease dropped or given back) if the entry is stale.

        The staff member's slot must already be reserved; the caller releases it on None.
        """
        entry = lease.entry
        conversation = await self.record.get_conversation(entry.conversation_id)
        if conversation is None or conversation.state != S.QUEUED or conversation.ticket_id != entry.ticket_id:
            await self.queues.ack(entry.ticket_id, lease.claimer)
            return None
        try:
            after = await self._move(conversation, T.ASSIGN, actor, reason, assignee_id=staff.id)
        except StaleConversation:
            await self.queues.requeue(entry.ticket_id, lease.claimer)
            return None
        except BaseException:
            await self.queues.requeue(entry.ticket_id, lease.claimer)
            raise
        await self.queues.ack(entry.ticket_id, lease.claimer)
        await self._update_ticket(
            entry.ticket_id, status=TicketStatus.ASSIGNED, assigned_to=staff.id, assigned_at=self.clock.now()
        )
        await self._tell_client(
            after.id, texts.agent_joined(after.queue, staff.name, staff.practice_number), type="agent_joined"
        )
        await self._publish_joined(after, staff)
        return after

    async def _auto_assign(self, queue: QueueName) -> int:
        """Give waiting conversations to the least-loaded online staff with free slots."""
        assigned = 0
        for _round in range(MAX_ASSIGN_ROUNDS):
            if await self.queues.length(queue) == 0:
                break
            staff = await self._online_staff(queue)
            loads = await self.presence.loads([member.id for member in staff])
            candidates = [Candidate(m.id, loads.get(m.id, 0), m.max_concurrency) for m in staff]
            order = assignment_order(candidates, await self.presence.next_round_robin(f"assign:{queue.value}"))
            chosen = await self._reserve_first(order, staff)
            if chosen is None:
                break
            lease = await self.queues.claim_head(queue, self._claimer(chosen.id), self.settings.claim_lease_seconds)
            result = await self._finish_claim(lease, chosen, SYSTEM_ACTOR, "auto_assign") if lease else None
            if result is None:
                await self.presence.release(chosen.id)
                if lease is None:
                    break
                continue
            assigned += 1
        if assigned:
            await self._publish_positions(queue)
        return assigned

    async def _reserve_first(self, order: Sequence[str], staff: Sequence[Staff]) -> Staff | None:
        """Reserve a slot with the first candidate in `order` who still has one."""
        by_id = {member.id: member for member in staff}
        for staff_id in order:
            if await self.presence.reserve(staff_id, by_id[staff_id].max_concurrency):
                return by_id[staff_id]
        return None

    async def _slot_freed(self, staff_id: str) -> None:
        """Release a slot and let the staff member's queues fill it."""
        await self.presence.release(staff_id)
        member = await self.record.get_staff(staff_id)
        if member is not None and member.role in TIER2_ROLES:
            for queue in sorted(member.skills):
                await self._auto_assign(queue)

    async def _online_staff(self, queue: QueueName) -> list[Staff]:
        members = []
        for staff_id in await self.presence.online_staff(queue):
            try:
                member = await self._staff(staff_id)
            except NotFound:
                continue
            if member.role in TIER2_ROLES and can_serve_queue(member, queue):
                members.append(member)
        return members

    async def _resolve(self, conversation: Conversation, actor: str) -> Conversation:
        after = await self._move(conversation, T.RESOLVE, actor, "resolved")
        if conversation.state == S.WITH_AGENT and conversation.assignee_id:
            await self._slot_freed(conversation.assignee_id)
        await self._update_ticket(conversation.ticket_id, status=TicketStatus.RESOLVED, resolved_at=self.clock.now())
        if actor == CLIENT_ACTOR:  # the client already said it is solved: thank them, do not ask again
            await self._tell_client(conversation.id, texts.RESOLVED_BY_CLIENT, type="resolved")
        else:
            await self._tell_client(
                conversation.id, texts.RESOLVED, type="feedback_request", options=list(texts.FEEDBACK_OPTIONS)
            )
        await self._publish(Resolved(conversation.id, conversation.assignee_id))
        return after

    async def _reopen(self, conversation: Conversation, actor: str) -> Conversation:
        holder = conversation.assignee_id
        back_to_agent = holder is not None and conversation.tier == Tier.ONLINE
        if back_to_agent and holder is not None:
            member = await self._staff(holder)
            if not await self.presence.reserve(holder, member.max_concurrency):
                raise NoCapacity(f"{holder} has no free slot")
        try:
            after = await self._move(conversation, T.REOPEN, actor, "reopened")
        except BaseException:
            if back_to_agent and holder is not None:
                await self.presence.release(holder)
            raise
        if holder is not None:
            await self._update_ticket(conversation.ticket_id, status=TicketStatus.ASSIGNED, resolved_at=None)
            await self._tell_client(conversation.id, texts.REOPENED, type="reopened")
        await self._publish(Reopened(conversation.id, holder))
        return after
