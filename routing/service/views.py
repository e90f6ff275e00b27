"""Read models: the queue as the console shows it, a staff member's conversations, the client's facts.

Access-checked where they show a conversation or a queue (routing.service.access); showing a client's
conversation to staff is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.audit import AuditAction
from routing.eta import estimate_wait_seconds
from routing.models import (
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
    Presence,
    QueueName,
    Role,
    Staff,
    Ticket,
    Tier,
)
from routing.ports import Clock, IdempotencyStore, PresenceStore, QueueEntry
from routing.records import Record
from routing.service import access
from routing.service.assigner import Assigner
from routing.service.journal import Journal
from routing.service.lookups import Lookups
from routing.service.pages import NEWEST, PageRequest, read_page
from routing.settings import RoutingSettings
from routing.state_machine import HUMAN_STATES, human_holds

WaitInputs = tuple[list[tuple[int, int]], list[float]]
"""A queue's online (load, capacity) slots and its recent handle times in seconds (the wait estimate's inputs)."""

QUEUE_VIEW_LIMIT = 200
READ_AUDIT_WINDOW_SECONDS = 30 * 60
"""Re-reads of a conversation within this window after an open (or a first read) add no audit entry."""
READ_AUDIT_KEY = "audit:read:{staff_id}:{conversation_id}"


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
class StaffStatus:
    """A staff member's presence and how many conversations they serve now."""

    presence: Presence
    active: int


@dataclass(frozen=True)
class Colleague:
    """A tier-2 colleague a conversation can be transferred to."""

    staff: Staff
    presence: Presence


@dataclass(frozen=True)
class QueueLoad:
    """One tier-2 queue at a glance (operations monitoring): who waits, for how long, who is online to serve."""

    queue: QueueName
    waiting: int
    oldest_wait_seconds: float
    """The longest current wait (0 when nobody waits): VIP priority means the head is not always the oldest."""
    staff_online: int
    load: int
    """Conversations the online staff of this queue serve now."""
    capacity: int
    """The online staff's total concurrency limit."""


@dataclass(frozen=True)
class ConversationView:
    """What a staff member sees of one conversation: the transcript, the client card and the ticket."""

    conversation: Conversation
    messages: list[Message]
    """A page of the transcript: the newest by default."""
    client: Client
    ticket: Ticket | None
    has_older: bool = False
    """Messages older than the page's first remain (ask again with `before` set to its seq)."""


class Views:
    """Read-only views with access rules."""

    def __init__(  # noqa: PLR0917 - the collaborators it reads from
        self,
        record: Record,
        lookups: Lookups,
        assigner: Assigner,
        presence: PresenceStore,
        settings: RoutingSettings,
        clock: Clock,
        journal: Journal,
        idempotency: IdempotencyStore,
    ) -> None:
        self._record = record
        self._lookups = lookups
        self._journal = journal
        self._idempotency = idempotency
        self._assigner = assigner
        self._presence = presence
        self._settings = settings
        self._clock = clock
        self._wait_inputs: dict[QueueName, tuple[datetime, WaitInputs]] = {}

    async def queue_view(self, queue: QueueName, viewer_id: str) -> list[QueueItem]:
        """The waiting conversations of a queue, in service order, for skilled staff or supervisors.

        A duty manager sees their own branch's clients in it (at their true positions); others the whole queue.
        """
        viewer = await self._lookups.staff(viewer_id)
        access.check_may_see_queue(viewer, queue)
        branch = access.supervised_branch(viewer) if access.is_supervisor(viewer) else None
        now = self._clock.now()
        items = []
        for position, entry in enumerate(await self._assigner.waiting(queue, QUEUE_VIEW_LIMIT), start=1):
            item = await self._queue_item(entry, position, now, branch)
            if item is not None:
                items.append(item)
        return items

    async def _queue_item(
        self, entry: QueueEntry, position: int, now: datetime, branch: str | None = None
    ) -> QueueItem | None:
        """The console's line for one queue entry; None if its ticket or client is gone, or is of another
        branch than `branch` (when given)."""
        ticket = await self._record.get_ticket(entry.ticket_id)
        client = await self._record.get_client(ticket.client_id) if ticket else None
        if ticket is None or client is None or (branch is not None and client.branch != branch):
            return None
        return QueueItem(
            ticket_id=ticket.id,
            conversation_id=entry.conversation_id,
            queue=entry.queue,
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

    async def queue_loads(self) -> list[QueueLoad]:
        """Every tier-2 queue's length, oldest wait and online staff with their load and capacity (no access
        check: counts only, no client data; for the operators' metrics)."""
        now = self._clock.now()
        loads = []
        for queue in QueueName:
            waiting = await self._assigner.queue_length(queue)
            entries = await self._assigner.waiting(queue, waiting) if waiting else []
            oldest = min((entry.enqueued_at for entry in entries), default=now)
            slots = await self._assigner.online_slots(queue)
            loads.append(
                QueueLoad(
                    queue=queue,
                    waiting=waiting,
                    oldest_wait_seconds=max((now - oldest).total_seconds(), 0.0),
                    staff_online=len(slots),
                    load=sum(load for load, _ in slots),
                    capacity=sum(capacity for _, capacity in slots),
                )
            )
        return loads

    async def find_client(self, client_id: str) -> Client | None:
        """The directory's client, or None."""
        return await self._record.get_client(client_id)

    async def clients(self, limit: int = 200) -> list[Client]:
        """The directory's first `limit` clients by id (the demo page's picker)."""
        return (await self._record.list_clients())[:limit]

    async def find_staff(self, staff_id: str) -> Staff | None:
        """The staff member as stored now (not cached), or None."""
        return await self._lookups.find_staff(staff_id)

    async def staff_status(self, staff_id: str) -> StaffStatus:
        """Presence and current load of a staff member."""
        staff = await self._lookups.staff(staff_id)
        return StaffStatus(await self._presence.presence(staff.id), await self._record.active_count(staff.id))

    async def colleagues(self, staff_id: str) -> list[Colleague]:
        """Tier-2 staff (other than the asker) with a skill, who can take a transfer, with their presence."""
        members = [
            member
            for member in await self._record.list_staff()
            if member.id != staff_id and access.serves_tier2_queues(member)
        ]
        return [Colleague(member, await self._presence.presence(member.id)) for member in members]

    async def conversation_view(
        self, viewer_id: str, conversation_id: str, opened: bool = False, page: PageRequest = NEWEST
    ) -> ConversationView:
        """A transcript page (the newest by default), client and ticket of a conversation the viewer may see
        (Forbidden otherwise), audited.

        `opened`: the staff member opened it (one audit entry each time); other reads of the same conversation
        (the console refreshing what it shows) are audited once per viewer and conversation per read window.
        """
        viewer = await self._lookups.staff(viewer_id)
        conversation = await self._lookups.conversation(conversation_id)
        client = await self._lookups.client_of(conversation)
        access.check_can_view(viewer, conversation, client)
        transcript = await read_page(self._record, conversation_id, page)
        await self._audit_view(viewer, conversation, opened)
        ticket = await self._lookups.ticket(conversation.ticket_id)
        return ConversationView(conversation, transcript.messages, client, ticket, transcript.has_older)

    async def _audit_view(self, viewer: Staff, conversation: Conversation, opened: bool) -> None:
        """Note who saw a client's conversation: every open, and unopened reads once per window."""
        key = READ_AUDIT_KEY.format(staff_id=viewer.id, conversation_id=conversation.id)
        if opened:
            await self._idempotency.release(key)  # the open starts a new window of quiet re-reads
        first_read = await self._idempotency.claim(key, READ_AUDIT_WINDOW_SECONDS)
        if not (opened or first_read):
            return
        action = AuditAction.CONVERSATION_OPEN if opened else AuditAction.CONVERSATION_READ
        detail: dict[str, object] = {
            "client_id": conversation.client_id,
            "state": conversation.state.value,
            "tier": int(conversation.tier),
            "holder": conversation.assignee_id,
        }
        await self._journal.audit(viewer.id, action, conversation.id, detail)

    async def messages_after(self, conversation_id: str, after_seq: int, limit: int = 200) -> list[Message]:
        """Up to `limit` messages after `after_seq`, for a channel that already holds the conversation."""
        return await self._record.list_messages(conversation_id, after_seq=after_seq, limit=limit)

    async def staff_conversations(self, staff_id: str) -> list[Conversation]:
        """Live conversations a staff member holds, in the record's order; an admin sees all, a duty manager
        also their branch's, a responder also their own clients' at tier 3."""
        staff = await self._lookups.staff(staff_id)
        live = await self._record.conversations_in_states(HUMAN_STATES)
        if access.is_supervisor(staff) and access.supervised_branch(staff) is None:
            return live
        follows_clients = access.is_supervisor(staff) or staff.role == Role.RESPONDER
        clients: dict[str, Client | None] = {}
        shown = []
        for conversation in live:
            if not access.holds(staff, conversation):
                if not follows_clients:
                    continue
                if conversation.client_id not in clients:
                    clients[conversation.client_id] = await self._record.get_client(conversation.client_id)
                client = clients[conversation.client_id]
                if client is None or not (
                    access.supervises(staff, client) or access.sees_as_responder(staff, conversation, client)
                ):
                    continue
            shown.append(conversation)
        return shown

    async def client_facts(self, conversation_id: str) -> ClientFacts:
        """State, queue position, estimated wait and who serves, for the client's screen."""
        conversation = await self._lookups.conversation(conversation_id)
        position: int | None = None
        wait: float | None = None
        if conversation.state == ConversationState.QUEUED and conversation.queue and conversation.ticket_id:
            position = await self._assigner.position(conversation.queue, conversation.ticket_id)
            if position is not None:
                wait = await self.estimated_wait(conversation.queue, position)
        serving = None
        if conversation.assignee_id and human_holds(conversation.state):
            staff = await self._lookups.staff(conversation.assignee_id)
            serving = ServingStaff(staff.id, staff.name, staff.role, staff.practice_number)
        return ClientFacts(
            conversation.id, conversation.state, conversation.tier, conversation.queue, position, wait, serving
        )

    async def estimated_wait(self, queue: QueueName, position: int) -> float | None:
        """Seconds until `position` is likely served, from recent handle times and online slots."""
        slots, history = await self._cached_wait_inputs(queue)
        return estimate_wait_seconds(position, history, slots, self._settings.default_handle_seconds)

    async def _cached_wait_inputs(self, queue: QueueName) -> WaitInputs:
        """The queue's online slots and recent handle times, read at most once per cache window (per queue).

        Every waiting client's facts need them; without the cache a queue movement read them once per client.
        """
        now = self._clock.now()
        cached = self._wait_inputs.get(queue)
        if cached is not None and now < cached[0]:
            return cached[1]
        slots = await self._assigner.online_slots(queue)
        history = await self._record.recent_handle_seconds(queue, self._settings.handle_history)
        until = now + timedelta(seconds=self._settings.wait_estimate_cache_seconds)
        self._wait_inputs[queue] = (until, (slots, history))
        return slots, history
