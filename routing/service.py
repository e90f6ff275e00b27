"""The routing service: the use cases the API calls, over the record and the ports.

It orchestrates the pure parts (state machine, policy, assignment, eta), keeps the record as the
truth (every move is a compare-and-set transition), keeps the fast stores (queues, presence) in
step, publishes events for the channels and writes the audit log. Access rules live here.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from routing import texts
from routing.assignment import TIER2_ROLES, Candidate, assignment_order, can_serve_queue
from routing.calendar import ServiceCalendar
from routing.errors import (
    Forbidden,
    IllegalTransition,
    NoCapacity,
    NotFound,
    RoutingError,
    StaleClaim,
    StaleConversation,
    ValidationFailed,
)
from routing.eta import estimate_wait_seconds
from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
    Presence,
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
from routing.policy import Availability, Escalation, PriorityRules, Route, decide
from routing.ports import (
    Clock,
    EventBus,
    IdempotencyStore,
    Lease,
    PresenceStore,
    QuestionClassifier,
    QueueEntry,
    QueueStore,
)
from routing.records import Record
from routing.settings import RoutingSettings
from routing.state_machine import KEEP, Keep, TransitionName, apply

S = ConversationState
T = TransitionName
SYSTEM_ACTOR = "system"
CLIENT_ACTOR = "client"
SUPERVISOR_ROLES = frozenset({Role.ADMIN, Role.DUTY_MANAGER})
_STAFF_CACHE_SECONDS = 30.0
_MAX_ASSIGN_ROUNDS = 200
_QUEUE_SCAN_LIMIT = 10_000


@dataclass(frozen=True)
class ServingStaff:
    """Who serves a conversation, as the client may see it."""

    staff_id: str
    name: str
    role: Role
    practice_number: str | None


@dataclass(frozen=True)
class ClientFacts:
    """What the client sees at any moment: state, queue position, estimated wait, who serves."""

    conversation_id: str
    state: ConversationState
    tier: Tier
    queue: QueueName | None
    position: int | None
    estimated_wait_seconds: float | None
    serving: ServingStaff | None


@dataclass(frozen=True)
class QueueItem:
    """One waiting conversation as the console shows it."""

    ticket_id: str
    conversation_id: str
    queue: QueueName
    position: int
    priority: int
    vip: bool
    client_id: str
    client_name: str
    client_tier: str
    question: str
    reason: EscalationReason
    enqueued_at: datetime
    waiting_seconds: float


@dataclass(frozen=True)
class TickReport:
    """What one `tick` did."""

    reclaimed: int = 0
    assigned: int = 0
    wait_limit_escalations: int = 0
    ladder_steps: int = 0


class RoutingService:
    """Routing and hand-off use cases. Safe to run in many workers against shared stores."""

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

    # ------------------------------------------------------------------ lookups

    async def _conversation(self, conversation_id: str) -> Conversation:
        conversation = await self.record.get_conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"unknown conversation {conversation_id!r}")
        return conversation

    async def _staff(self, staff_id: str) -> Staff:
        cached = self._staff_cache.get(staff_id)
        if cached is not None and time.monotonic() - cached[1] < _STAFF_CACHE_SECONDS:
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

    # ------------------------------------------------------------------ writes and events

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

    async def _publish(self, event_type: str, **fields: object) -> None:
        await self.events.publish({"type": event_type, **fields})

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
            "message",
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
        return message

    async def _tell_client(self, conversation_id: str, text: str, **payload: object) -> Message:
        return await self._append(conversation_id, SenderKind.SYSTEM, text, dict(payload))

    async def _publish_positions(self, queue: QueueName) -> None:
        for position, entry in enumerate(await self.queues.entries(queue, limit=100), start=1):
            await self._publish(
                "position_changed",
                conversation_id=entry.conversation_id,
                queue=queue.value,
                position=position,
            )

    # ------------------------------------------------------------------ access rules

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
            and conversation.state in {S.QUEUED, S.WITH_AGENT}
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

    # ------------------------------------------------------------------ conversations and messages

    async def start_conversation(self, client_id: str, channel: Channel) -> Conversation:
        """Open a conversation in the bot state; NotFound for an unknown client."""
        client = await self._client(client_id)
        now = self.clock.now()
        conversation = Conversation(
            id=uuid.uuid4().hex,
            client_id=client.id,
            channel=channel,
            state=S.BOT,
            tier=Tier.BOT,
            created_at=now,
            updated_at=now,
        )
        await self.record.create_conversation(conversation)
        await self.record.audit(
            CLIENT_ACTOR, "conversation.start", conversation.id, {"client_id": client.id}, now
        )
        return conversation

    async def get_conversation(self, conversation_id: str, viewer_id: str | None = None) -> Conversation:
        """The conversation; with `viewer_id`, Forbidden unless that staff member may see it."""
        conversation = await self._conversation(conversation_id)
        if viewer_id is not None:
            await self._check_can_view(await self._staff(viewer_id), conversation)
        return conversation

    async def messages(
        self, conversation_id: str, viewer_id: str | None = None, after_seq: int = 0
    ) -> list[Message]:
        """The transcript after `after_seq` (access-checked when a staff viewer is given)."""
        await self.get_conversation(conversation_id, viewer_id)
        return await self.record.list_messages(conversation_id, after_seq=after_seq)

    async def record_client_message(self, conversation_id: str, text: str) -> Message:
        """Store a client message. A resolved conversation returns to the bot for the next question."""
        if not text.strip():
            raise ValidationFailed("a message needs text")
        conversation = await self._conversation(conversation_id)
        if conversation.state == S.CLOSED:
            raise IllegalTransition("client_message", conversation.state.value)
        if conversation.state == S.RESOLVED:
            await self._move(conversation, T.RETURN_TO_BOT, CLIENT_ACTOR, "next question")
        return await self._append(conversation_id, SenderKind.CLIENT, text)

    async def record_bot_replies(
        self, conversation_id: str, payloads: Sequence[dict[str, object]]
    ) -> list[Message]:
        """Store the bot's replies; only in the bot state (a human is never talked over)."""
        conversation = await self._conversation(conversation_id)
        if conversation.state != S.BOT:
            raise IllegalTransition("bot_reply", conversation.state.value)
        stored = []
        for payload in payloads:
            text = payload.get("text")
            served = ServedBy(Tier.BOT, None, self.clock.now())
            stored.append(
                await self._append(
                    conversation_id,
                    SenderKind.BOT,
                    text if isinstance(text, str) else "",
                    dict(payload),
                    served,
                )
            )
        return stored

    async def _last_client_text(self, conversation_id: str) -> str:
        messages = await self.record.list_messages(conversation_id, limit=10_000)
        return next((m.text for m in reversed(messages) if m.sender == SenderKind.CLIENT), "")

    # ------------------------------------------------------------------ escalation

    async def escalate_from_bot(
        self,
        conversation_id: str,
        reason: EscalationReason,
        queue_hint: QueueName | None,
        question: str,
    ) -> Conversation:
        """Leave the bot: tier-2 queue, or tier 3 (off hours / nobody online), or leave a message."""
        conversation = await self._conversation(conversation_id)
        if conversation.state != S.BOT:
            raise IllegalTransition("escalate_from_bot", conversation.state.value)
        client = await self._client(conversation.client_id)
        question = question.strip() or await self._last_client_text(conversation_id)
        now = self.clock.now()
        online = {queue: len(await self.presence.online_staff(queue)) for queue in QueueName}
        _step, first = await self._ladder_target(client, ResponderStep.RESPONDER)
        responder_online = await self.presence.presence(first.id) == Presence.ONLINE
        decision = decide(
            Escalation(reason, queue_hint, question, client, now),
            self._classify,
            self.calendar,
            Availability(online, responder_online),
            self.priorities,
        )
        if decision.route == Route.QUEUE:
            return await self._enqueue_new(conversation, client, decision.queue, decision.reason, question)
        prefix = (
            texts.OFF_HOURS_PREFIX if decision.reason == EscalationReason.OFF_HOURS else texts.NO_STAFF_PREFIX
        )
        leave = decision.route == Route.LEAVE_MESSAGE
        return await self._to_tier3(
            conversation,
            client,
            SYSTEM_ACTOR,
            decision.reason,
            question,
            T.LEAVE_MESSAGE if leave else T.ESCALATE_TO_RESPONDER,
            prefix,
        )

    def _classify(self, text: str) -> QueueName:
        return self.classifier.classify(text) if text.strip() else QueueName.SERVICE

    async def _enqueue_new(
        self,
        conversation: Conversation,
        client: Client,
        queue: QueueName,
        reason: EscalationReason,
        question: str,
    ) -> Conversation:
        now = self.clock.now()
        ticket = Ticket(
            id=uuid.uuid4().hex,
            conversation_id=conversation.id,
            client_id=client.id,
            tier=Tier.ONLINE,
            reason=reason,
            question=question,
            enqueued_at=now,
            queue=queue,
            priority=self.priorities.priority(client),
            vip=client.vip,
        )
        await self.record.open_ticket(ticket)
        try:
            await self._move(
                conversation,
                T.ESCALATE_TO_QUEUE,
                SYSTEM_ACTOR,
                reason.value,
                queue=queue,
                ticket_id=ticket.id,
                escalation_reason=reason,
            )
        except RoutingError:
            await self.record.update_ticket(dataclasses.replace(ticket, status=TicketStatus.CLOSED))
            raise
        await self.queues.enqueue(QueueEntry(ticket.id, conversation.id, queue, ticket.priority, now))
        position = await self.queues.position(queue, ticket.id)
        await self._tell_client(
            conversation.id, texts.queued(queue, position), type="queued", position=position
        )
        await self._publish(
            "queued", conversation_id=conversation.id, queue=queue.value, position=position, vip=client.vip
        )
        await self._auto_assign(queue)
        return await self._conversation(conversation.id)

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
            await self._tell_client(before.id, texts.LEAVE_MESSAGE, type="leave_message")
        else:
            await self._tell_client(
                before.id,
                texts.responder_assigned(target.name, prefix),
                type="handoff",
                tier=int(Tier.RESPONDER),
            )
        await self._publish(
            "escalated",
            conversation_id=before.id,
            tier=int(Tier.RESPONDER),
            staff_id=target.id,
            reason=reason.value,
            leave_message=name == T.LEAVE_MESSAGE,
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

    # ------------------------------------------------------------------ feedback

    async def client_feedback(self, conversation_id: str, resolved: bool) -> Conversation:
        """问题已解答 / 问题未解答: record who it rates; "not resolved" moves one tier up."""
        conversation = await self._conversation(conversation_id)
        state = conversation.state
        if state in {S.QUEUED, S.AWAITING_RESPONDER, S.CLOSED}:
            raise IllegalTransition("client_feedback", state.value)
        now = self.clock.now()
        await self.record.add_feedback(
            conversation.id,
            conversation.ticket_id,
            conversation.tier,
            conversation.assignee_id,
            resolved,
            now,
        )
        await self.record.audit(CLIENT_ACTOR, "feedback", conversation.id, {"resolved": resolved}, now)
        if state == S.BOT:
            if resolved:
                return conversation
            question = await self._last_client_text(conversation.id)
            return await self.escalate_from_bot(
                conversation.id, EscalationReason.CLIENT_UNRESOLVED, None, question
            )
        if resolved:
            if state == S.RESOLVED:
                return await self._move(
                    conversation, T.RETURN_TO_BOT, CLIENT_ACTOR, "client confirmed resolved"
                )
            return await self._resolve(conversation, CLIENT_ACTOR)
        if conversation.tier == Tier.ONLINE:
            client = await self._client(conversation.client_id)
            return await self._to_tier3(
                conversation,
                client,
                CLIENT_ACTOR,
                EscalationReason.CLIENT_UNRESOLVED,
                "",
                prefix=texts.UNRESOLVED_PREFIX,
            )
        if state == S.RESOLVED:
            return await self._reopen(conversation, CLIENT_ACTOR)
        return conversation

    # ------------------------------------------------------------------ staff actions

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
            await self._update_ticket(
                conversation.ticket_id, assigned_to=staff.id, assigned_at=self.clock.now()
            )
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
        message = await self._append(
            conversation.id, sender, text, {}, ServedBy(conversation.tier, staff.id, now)
        )
        ticket = await self._ticket(conversation.ticket_id)
        if ticket is not None and ticket.first_response_at is None:
            await self.record.update_ticket(dataclasses.replace(ticket, first_response_at=now))
        return message

    async def _publish_joined(self, conversation: Conversation, staff: Staff) -> None:
        await self._publish(
            "agent_joined",
            conversation_id=conversation.id,
            staff_id=staff.id,
            staff_name=staff.name,
            practice_number=staff.practice_number,
            tier=int(conversation.tier),
        )

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
            for _round in range(_MAX_ASSIGN_ROUNDS):
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

    async def _finish_claim(self, lease: Lease, staff: Staff, actor: str, reason: str) -> Conversation | None:
        """Turn a lease into an assignment; None (lease dropped or given back) if the entry is stale.

        The staff member's slot must already be reserved; the caller releases it on None.
        """
        entry = lease.entry
        conversation = await self.record.get_conversation(entry.conversation_id)
        if (
            conversation is None
            or conversation.state != S.QUEUED
            or conversation.ticket_id != entry.ticket_id
        ):
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
        for _round in range(_MAX_ASSIGN_ROUNDS):
            if await self.queues.length(queue) == 0:
                break
            staff = await self._online_staff(queue)
            loads = await self.presence.loads([member.id for member in staff])
            candidates = [Candidate(m.id, loads.get(m.id, 0), m.max_concurrency) for m in staff]
            order = assignment_order(
                candidates, await self.presence.next_round_robin(f"assign:{queue.value}")
            )
            chosen = await self._reserve_first(order, staff)
            if chosen is None:
                break
            lease = await self.queues.claim_head(
                queue, self._claimer(chosen.id), self.settings.claim_lease_seconds
            )
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

    async def resolve(self, staff_id: str, conversation_id: str) -> Conversation:
        """Close the question as answered; the client is asked 问题已解答 / 问题未解答."""
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        self._check_holder(staff, conversation)
        return await self._resolve(conversation, staff.id)

    async def _resolve(self, conversation: Conversation, actor: str) -> Conversation:
        after = await self._move(conversation, T.RESOLVE, actor, "resolved")
        if conversation.state == S.WITH_AGENT and conversation.assignee_id:
            await self._slot_freed(conversation.assignee_id)
        await self._update_ticket(
            conversation.ticket_id, status=TicketStatus.RESOLVED, resolved_at=self.clock.now()
        )
        await self._tell_client(
            conversation.id, texts.RESOLVED, type="feedback_request", options=list(texts.FEEDBACK_OPTIONS)
        )
        await self._publish("resolved", conversation_id=conversation.id, staff_id=conversation.assignee_id)
        return after

    async def mark_unresolved(self, staff_id: str, conversation_id: str) -> Conversation:
        """The agent could not resolve it: tier 3."""
        return await self._agent_to_tier3(staff_id, conversation_id, EscalationReason.AGENT_UNRESOLVED)

    async def escalate_to_responder(self, staff_id: str, conversation_id: str) -> Conversation:
        """The agent (or a supervisor, also from the queue) hands it to the client's responder."""
        return await self._agent_to_tier3(staff_id, conversation_id, EscalationReason.AGENT_ESCALATED)

    async def _agent_to_tier3(
        self, staff_id: str, conversation_id: str, reason: EscalationReason
    ) -> Conversation:
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
        return await self._to_tier3(
            conversation, client, staff.id, reason, "", prefix=texts.UNRESOLVED_PREFIX
        )

    async def transfer_to_queue(self, staff_id: str, conversation_id: str, queue: QueueName) -> Conversation:
        """Move to the advisor or service queue (the holder, or a supervisor for a queued one)."""
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        if conversation.state == S.QUEUED:
            if not (
                self._is_supervisor(staff)
                or (conversation.queue and can_serve_queue(staff, conversation.queue))
            ):
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
        await self._tell_client(
            conversation.id, texts.queued(queue, position), type="queued", position=position
        )
        await self._publish(
            "transferred", conversation_id=conversation.id, queue=queue.value, staff_id=None, by=staff.id
        )
        if conversation.queue and conversation.queue != queue:
            await self._publish_positions(conversation.queue)
        await self._auto_assign(queue)
        return await self._conversation(after.id)

    async def transfer_to_staff(
        self, staff_id: str, conversation_id: str, target_staff_id: str
    ) -> Conversation:
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
            after = await self._move(
                conversation, T.TRANSFER_AGENT, staff.id, f"to {target.id}", assignee_id=target.id
            )
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
        await self._publish("transferred", conversation_id=conversation.id, staff_id=target.id, by=staff.id)
        await self._publish_joined(after, target)
        return after

    async def reopen(self, staff_id: str, conversation_id: str) -> Conversation:
        """Reopen a resolved or closed conversation with whoever last held it (holder or supervisor)."""
        staff = await self._staff(staff_id)
        conversation = await self._conversation(conversation_id)
        self._check_holder(staff, conversation)
        return await self._reopen(conversation, staff.id)

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
        await self._publish("reopened", conversation_id=conversation.id, staff_id=holder)
        return after

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
        await self._publish("closed", conversation_id=conversation.id, staff_id=conversation.assignee_id)
        if conversation.state == S.QUEUED and conversation.queue:
            await self._publish_positions(conversation.queue)
        return after

    # ------------------------------------------------------------------ presence

    async def set_presence(self, staff_id: str, presence: Presence) -> None:
        """Online / away / offline; going online pulls waiting work."""
        staff = await self._staff(staff_id)
        skills = staff.skills if staff.role in TIER2_ROLES else frozenset()
        await self.presence.set_presence(staff.id, skills, presence, self.settings.presence_ttl_seconds)
        await self.record.audit(
            staff.id, "presence", staff.id, {"presence": presence.value}, self.clock.now()
        )
        await self._publish("presence", staff_id=staff.id, presence=presence.value)
        if presence == Presence.ONLINE:
            for queue in sorted(skills):
                await self._auto_assign(queue)

    async def heartbeat(self, staff_id: str) -> bool:
        """Keep presence alive; False if it already lapsed (the console should set it again)."""
        staff = await self._staff(staff_id)
        return await self.presence.heartbeat(staff.id, self.settings.presence_ttl_seconds)

    # ------------------------------------------------------------------ views

    async def queue_view(self, queue: QueueName, viewer_id: str) -> list[QueueItem]:
        """The waiting conversations of a queue, in service order, for skilled staff or supervisors."""
        viewer = await self._staff(viewer_id)
        if not (
            self._is_supervisor(viewer) or (viewer.role in TIER2_ROLES and can_serve_queue(viewer, queue))
        ):
            raise Forbidden(f"{viewer.id} may not see the {queue.value} queue")
        now = self.clock.now()
        items = []
        for position, entry in enumerate(await self.queues.entries(queue, limit=200), start=1):
            ticket = await self.record.get_ticket(entry.ticket_id)
            client = await self.record.get_client(ticket.client_id) if ticket else None
            if ticket is None or client is None:
                continue
            items.append(
                QueueItem(
                    ticket_id=ticket.id,
                    conversation_id=entry.conversation_id,
                    queue=queue,
                    position=position,
                    priority=entry.priority,
                    vip=client.vip,
                    client_id=client.id,
                    client_name=client.name,
                    client_tier=client.tier,
                    question=ticket.question,
                    reason=ticket.reason,
                    enqueued_at=entry.enqueued_at,
                    waiting_seconds=max((now - entry.enqueued_at).total_seconds(), 0.0),
                )
            )
        return items

    async def staff_conversations(self, staff_id: str) -> list[Conversation]:
        """Live conversations a staff member holds (supervisors: all; responders: also their clients')."""
        staff = await self._staff(staff_id)
        live = await self.record.conversations_in_states(
            {S.WITH_AGENT, S.AWAITING_RESPONDER, S.WITH_RESPONDER}
        )
        if self._is_supervisor(staff):
            return live
        mine = [c for c in live if c.assignee_id == staff.id]
        if staff.role == Role.RESPONDER:
            held = {c.id for c in mine}
            for conversation in live:
                if conversation.id in held or conversation.tier != Tier.RESPONDER:
                    continue
                client = await self.record.get_client(conversation.client_id)
                if client is not None and client.responder_id == staff.id:
                    mine.append(conversation)
        return mine

    async def client_facts(self, conversation_id: str) -> ClientFacts:
        """State, queue position, estimated wait and who serves, for the client's screen."""
        conversation = await self._conversation(conversation_id)
        position: int | None = None
        wait: float | None = None
        if conversation.state == S.QUEUED and conversation.queue and conversation.ticket_id:
            position = await self.queues.position(conversation.queue, conversation.ticket_id)
            if position is not None:
                wait = await self.estimated_wait(conversation.queue, position)
        serving = None
        if conversation.assignee_id and conversation.state in {
            S.WITH_AGENT,
            S.WITH_RESPONDER,
            S.AWAITING_RESPONDER,
        }:
            staff = await self._staff(conversation.assignee_id)
            serving = ServingStaff(staff.id, staff.name, staff.role, staff.practice_number)
        return ClientFacts(
            conversation.id,
            conversation.state,
            conversation.tier,
            conversation.queue,
            position,
            wait,
            serving,
        )

    async def estimated_wait(self, queue: QueueName, position: int) -> float | None:
        """Seconds until `position` is likely served, from recent handle times and online slots."""
        staff = await self._online_staff(queue)
        loads = await self.presence.loads([member.id for member in staff])
        history = await self.record.recent_handle_seconds(queue, self.settings.handle_history)
        slots = [(loads.get(member.id, 0), member.max_concurrency) for member in staff]
        return estimate_wait_seconds(position, history, slots, self.settings.default_handle_seconds)

    # ------------------------------------------------------------------ background work

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
            overdue = [
                e for e in await self.queues.entries(queue, _QUEUE_SCAN_LIMIT) if now - e.enqueued_at >= limit
            ]
            for entry in overdue:
                lease = await self.queues.claim_ticket(
                    queue, entry.ticket_id, claimer, self.settings.claim_lease_seconds
                )
                if lease is None:
                    continue
                conversation = await self.record.get_conversation(entry.conversation_id)
                if (
                    conversation is None
                    or conversation.state != S.QUEUED
                    or conversation.ticket_id != entry.ticket_id
                ):
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
                "escalated",
                conversation_id=after.id,
                tier=int(Tier.RESPONDER),
                staff_id=target.id,
                reason=EscalationReason.RESPONDER_TIMEOUT.value,
                step=step.name.lower(),
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
                QueueEntry(
                    ticket.id, ticket.conversation_id, ticket.queue, ticket.priority, ticket.enqueued_at
                )
            )
            restored += 1
        active: dict[str, int] = {}
        for conversation in await self.record.conversations_in_states({S.WITH_AGENT}):
            if conversation.assignee_id:
                active[conversation.assignee_id] = active.get(conversation.assignee_id, 0) + 1
        for member in await self.record.list_staff():
            if member.role in TIER2_ROLES:
                await self.presence.set_load(member.id, active.get(member.id, 0))
        await self.record.audit(
            SYSTEM_ACTOR, "queues.rebuild", "queues", {"restored": restored}, self.clock.now()
        )
        return restored
