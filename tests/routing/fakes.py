"""An in-memory double of routing.records.Record, with the same compare-and-set rules as SQL."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from routing import compliance
from routing.audit import GENESIS_HASH, ChainedEntry, ChainReport, check_chain, next_link, normalise_detail
from routing.errors import AlreadyRated, ConversationAlreadyOpen, DuplicateClientMessage, NotFound, StaleConversation
from routing.models import (
    LIVE_TICKET_STATUSES,
    Channel,
    Client,
    Conversation,
    ConversationState,
    Message,
    QueueName,
    Role,
    SenderKind,
    ServedBy,
    Staff,
    Ticket,
    TicketStatus,
    Tier,
    Transition,
)
from routing.records import Activity, FeedbackEntry, ReportSource, SatisfactionRating, StateGuard
from routing.state_machine import SERVED_STATES


@dataclasses.dataclass(frozen=True)
class Feedback:
    conversation_id: str
    ticket_id: str | None
    tier: Tier
    staff_id: str | None
    resolved: bool
    at: datetime


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    subject: str
    detail: dict[str, object]
    at: datetime
    seq: int = 0
    prev_hash: str = GENESIS_HASH
    hash: str = ""

    def chained(self, entry_id: int) -> ChainedEntry:
        """The entry as the chain checker reads it."""
        return ChainedEntry(
            entry_id, self.seq, self.at, self.actor, self.action, self.subject, self.detail, self.prev_hash, self.hash
        )


class FakeRecord:
    """Dictionaries behind the Record protocol."""

    def __init__(self) -> None:
        self.clients: dict[str, Client] = {}
        self.staff: dict[str, Staff] = {}
        self.passwords: dict[str, str] = {}
        self.conversations: dict[str, Conversation] = {}
        self.messages: dict[str, list[Message]] = {}
        self.transitions: dict[str, list[Transition]] = {}
        self.tickets: dict[str, Ticket] = {}
        self.feedback: list[Feedback] = []
        self.audit_log: list[AuditEntry] = []
        self.ratings: list[SatisfactionRating] = []

    async def get_client(self, client_id: str) -> Client | None:
        return self.clients.get(client_id)

    async def get_client_by_wecom(self, wecom_id: str) -> Client | None:
        return next((c for c in self.clients.values() if c.wecom_id == wecom_id), None)

    async def list_clients(self) -> list[Client]:
        return sorted(self.clients.values(), key=lambda c: c.id)

    async def get_staff(self, staff_id: str) -> Staff | None:
        return self.staff.get(staff_id)

    async def list_staff(self, role: Role | None = None) -> list[Staff]:
        return sorted((s for s in self.staff.values() if role is None or s.role == role), key=lambda s: s.id)

    async def duty_manager(self, branch: str) -> Staff | None:
        managers = [s for s in await self.list_staff(Role.DUTY_MANAGER) if s.branch == branch]
        return managers[0] if managers else None

    async def replace_clients(self, clients: Sequence[Client]) -> None:
        self.clients.update({c.id: c for c in clients})

    async def replace_staff(self, staff: Sequence[Staff]) -> None:
        for member in staff:
            kept = self.staff.get(member.id)
            version = kept.token_version if kept else 0
            self.staff[member.id] = dataclasses.replace(member, token_version=version)

    async def get_password_hash(self, staff_id: str) -> str | None:
        return self.passwords.get(staff_id)

    async def set_password_hash(self, staff_id: str, password_hash: str) -> None:
        if staff_id not in self.staff:
            raise NotFound(staff_id)
        self.passwords[staff_id] = password_hash

    async def bump_token_version(self, staff_id: str) -> int:
        member = self.staff.get(staff_id)
        if member is None:
            raise NotFound(staff_id)
        self.staff[staff_id] = dataclasses.replace(member, token_version=member.token_version + 1)
        return member.token_version + 1

    async def set_staff_active(self, staff_id: str, active: bool) -> Staff:
        member = self.staff.get(staff_id)
        if member is None:
            raise NotFound(staff_id)
        version = member.token_version + (0 if active else 1)
        self.staff[staff_id] = dataclasses.replace(member, active=active, token_version=version)
        return self.staff[staff_id]

    def _open_on_channel(self, client_id: str, channel: Channel, besides: str | None = None) -> Conversation | None:
        """The client's conversation on `channel` that is not closed (other than `besides`), or None."""
        return next(
            (
                c
                for c in self.conversations.values()
                if c.client_id == client_id
                and c.channel == channel
                and c.state != ConversationState.CLOSED
                and c.id != besides
            ),
            None,
        )

    def _refuse_second_open(self, conversation: Conversation) -> None:
        if conversation.state != ConversationState.CLOSED and self._open_on_channel(
            conversation.client_id, conversation.channel, besides=conversation.id
        ):
            raise ConversationAlreadyOpen(
                f"client {conversation.client_id!r} already has an open {conversation.channel.value} conversation"
            )

    async def create_conversation(self, conversation: Conversation) -> None:
        self._refuse_second_open(conversation)
        self.conversations[conversation.id] = conversation
        self.messages[conversation.id] = []
        self.transitions[conversation.id] = []

    async def open_conversation(self, conversation: Conversation) -> tuple[Conversation, bool]:
        existing = self._open_on_channel(conversation.client_id, conversation.channel)
        if existing is not None:
            return existing, False
        await self.create_conversation(conversation)
        return conversation, True

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        return self.conversations.get(conversation_id)

    async def save_transition(self, before: Conversation, after: Conversation, transition: Transition) -> None:
        stored = self.conversations.get(before.id)
        if stored is None:
            raise NotFound(before.id)
        if stored.version != before.version or stored.state != before.state:
            raise StaleConversation(before.id)
        self._refuse_second_open(after)
        self.conversations[before.id] = dataclasses.replace(after, version=before.version + 1)
        self.transitions[before.id].append(transition)

    async def append_message(  # noqa: PLR0917
        self,
        conversation_id: str,
        sender: SenderKind,
        text: str,
        payload: dict[str, object],
        served_by: ServedBy | None,
        at: datetime,
        client_msg_id: str | None = None,
        *,
        only_in: StateGuard | None = None,
    ) -> Message:
        if conversation_id not in self.conversations:
            raise NotFound(conversation_id)
        if only_in is not None:
            only_in.check(self.conversations[conversation_id].state)
        messages = self.messages[conversation_id]
        for earlier in messages:
            if client_msg_id is not None and earlier.client_msg_id == client_msg_id:
                raise DuplicateClientMessage(earlier)
        message = Message(
            uuid.uuid4().hex,
            conversation_id,
            len(messages) + 1,
            sender,
            text,
            at,
            dict(payload),
            served_by,
            client_msg_id,
        )
        messages.append(message)
        return message

    async def list_messages(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        return [m for m in self.messages.get(conversation_id, []) if m.seq > after_seq][:limit]

    async def latest_messages(
        self, conversation_id: str, limit: int = 50, sender: SenderKind | None = None, before_seq: int | None = None
    ) -> list[Message]:
        found = [
            m
            for m in self.messages.get(conversation_id, [])
            if (sender is None or m.sender == sender) and (before_seq is None or m.seq < before_seq)
        ]
        return found[-limit:] if limit > 0 else []

    async def list_transitions(self, conversation_id: str) -> list[Transition]:
        return list(self.transitions.get(conversation_id, []))

    async def conversations_in_states(self, states: Collection[ConversationState]) -> list[Conversation]:
        found = [c for c in self.conversations.values() if c.state in states]
        return sorted(found, key=lambda c: c.created_at)

    async def active_count(self, staff_id: str) -> int:
        return sum(1 for c in self.conversations.values() if c.assignee_id == staff_id and c.state in SERVED_STATES)

    async def open_ticket(self, ticket: Ticket) -> None:
        self.tickets[ticket.id] = ticket

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        return self.tickets.get(ticket_id)

    async def update_ticket(self, ticket: Ticket) -> None:
        if ticket.id not in self.tickets:
            raise NotFound(ticket.id)
        self.tickets[ticket.id] = ticket

    async def open_tickets(self) -> list[Ticket]:
        live = [t for t in self.tickets.values() if t.status in LIVE_TICKET_STATUSES]
        return sorted(live, key=lambda t: (-t.priority, t.enqueued_at))

    async def tickets_for_conversation(self, conversation_id: str) -> list[Ticket]:
        return sorted(
            (t for t in self.tickets.values() if t.conversation_id == conversation_id),
            key=lambda t: t.enqueued_at,
        )

    async def recent_handle_seconds(self, queue: QueueName, limit: int = 50) -> list[float]:
        done = [
            t
            for t in self.tickets.values()
            if t.queue == queue and t.status == TicketStatus.RESOLVED and t.assigned_at and t.resolved_at
        ]
        done.sort(key=lambda t: t.resolved_at or t.enqueued_at, reverse=True)
        return [
            ((t.resolved_at - t.assigned_at).total_seconds()) for t in done[:limit] if t.resolved_at and t.assigned_at
        ]

    def _in_branch(self, client_id: str | None, branch: str | None) -> bool:
        client = self.clients.get(client_id or "")
        return branch is None or (client is not None and client.branch == branch)

    def _conversation_in_branch(self, conversation_id: str, branch: str | None) -> bool:
        conversation = self.conversations.get(conversation_id)
        return branch is None or (conversation is not None and self._in_branch(conversation.client_id, branch))

    async def activity_between(self, start: datetime, end: datetime, branch: str | None = None) -> Activity:
        source = await self.report_source(start, end, branch)
        bot_resolved = sum(1 for f in source.feedback if f.tier == Tier.BOT and f.resolved)
        return Activity(len(source.conversations), bot_resolved, source.tickets)

    async def add_feedback(  # noqa: PLR0917
        self,
        conversation_id: str,
        ticket_id: str | None,
        tier: Tier,
        staff_id: str | None,
        resolved: bool,
        at: datetime,
    ) -> None:
        self.feedback.append(Feedback(conversation_id, ticket_id, tier, staff_id, resolved, at))

    async def report_source(self, start: datetime, end: datetime, branch: str | None = None) -> ReportSource:
        in_branch = self._conversation_in_branch
        transfers = [
            move
            for moves in self.transitions.values()
            for move in moves
            if start <= move.at < end
            and move.name in {"transfer_queue", "transfer_agent"}
            and in_branch(move.conversation_id, branch)
        ]
        return ReportSource(
            conversations=tuple(
                sorted(
                    (
                        c
                        for c in self.conversations.values()
                        if start <= c.created_at < end and self._in_branch(c.client_id, branch)
                    ),
                    key=lambda c: (c.created_at, c.id),
                )
            ),
            tickets=tuple(
                sorted(
                    (
                        t
                        for t in self.tickets.values()
                        if start <= t.enqueued_at < end and self._in_branch(t.client_id, branch)
                    ),
                    key=lambda t: (t.enqueued_at, t.id),
                )
            ),
            feedback=tuple(
                FeedbackEntry(f.conversation_id, f.ticket_id, f.tier, f.staff_id, f.resolved, f.at)
                for f in sorted(self.feedback, key=lambda f: f.at)
                if start <= f.at < end and in_branch(f.conversation_id, branch)
            ),
            transfers=tuple(sorted(transfers, key=lambda move: move.at)),
            ratings=tuple(
                sorted(
                    (r for r in self.ratings if start <= r.at < end and in_branch(r.conversation_id, branch)),
                    key=lambda r: r.at,
                )
            ),
        )

    async def last_feedback(self, conversation_id: str) -> FeedbackEntry | None:
        mine = [f for f in self.feedback if f.conversation_id == conversation_id]
        if not mine:
            return None
        f = max(reversed(mine), key=lambda f: f.at)
        return FeedbackEntry(f.conversation_id, f.ticket_id, f.tier, f.staff_id, f.resolved, f.at)

    async def add_rating(self, rating: SatisfactionRating) -> None:
        if any(
            r.conversation_id == rating.conversation_id and r.resolved_at == rating.resolved_at for r in self.ratings
        ):
            raise AlreadyRated(f"conversation {rating.conversation_id} is already rated for this resolution")
        self.ratings.append(rating)

    async def audit(self, actor: str, action: str, subject: str, detail: dict[str, object], at: datetime) -> None:
        """Chained like SqlRecord's entries (routing.audit), so tests can check the chain."""
        last = self.audit_log[-1] if self.audit_log else None
        head_seq, head_hash = (last.seq, last.hash) if last else (0, GENESIS_HASH)
        plain = normalise_detail(detail)
        link = next_link(head_seq, head_hash, at, actor, action, subject, plain)
        self.audit_log.append(AuditEntry(actor, action, subject, plain, at, link.seq, link.prev_hash, link.hash))

    def audit_chain(self) -> ChainReport:
        """The stored entries checked as `python -m routing audit verify` checks SQL."""
        last = self.audit_log[-1] if self.audit_log else None
        entries = [entry.chained(number) for number, entry in enumerate(self.audit_log, start=1)]
        return check_chain(entries, last.seq if last else 0, last.hash if last else GENESIS_HASH)

    async def search_conversations(self, query: compliance.ConversationQuery) -> compliance.SearchPage:
        """The rule of routing.compliance over the dictionaries."""
        found = (
            compliance.matches(conversation, self.messages.get(conversation.id, []), query)
            for conversation in self.conversations.values()
        )
        return compliance.paged(compliance.newest_first([hit for hit in found if hit is not None]), query)
