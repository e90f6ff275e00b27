"""The system of record port: what routing reads from and writes to durable storage.

SQL implements it (routing.sql_record.SqlRecord); tests may use an in-memory double. Everything a
client or staff member said, every transition, ticket, feedback and audit entry lives here.

Conventions every implementation keeps:
- datetimes go in and come out timezone-aware (UTC);
- `save_transition` is a compare-and-set on the stored `version` (and state) of `before`; the stored
  row gets `after`'s fields with `version = before.version + 1`, so build `after` with
  `version=before.version + 1` to keep the in-memory copy equal to the stored one. A mismatch raises
  routing.errors.StaleConversation; an unknown conversation raises routing.errors.NotFound;
- `append_message` assigns `seq = max(seq) + 1` per conversation, safe under concurrent appends;
- a client has at most one conversation that is not closed per channel: `open_conversation` returns
  that one instead of inserting a second (safe under concurrent opens from any number of workers), and
  `create_conversation` or a `save_transition` out of closed (reopen) that would make a second raises
  routing.errors.ConversationAlreadyOpen;
- the audit log is append-only and hash-chained (routing.audit): each entry gets the next sequence
  number, the previous entry's hash and its own SHA-256 over (previous hash, seq, time, actor, action,
  subject, canonical JSON detail); appends from every worker extend one chain (SQL serialises them on
  the chain head). There is no way to change or delete an entry through this port, and
  `python -m routing audit verify` finds a row changed, deleted or inserted outside it. Details hold ids,
  enum values and counts; free text a person typed is masked before it is audited (it can never be erased).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from routing.compliance import ConversationQuery, SearchPage
from routing.errors import IllegalTransition
from routing.models import (
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
    Tier,
    Transition,
)

RATING_SCORES = range(1, 6)
"""A satisfaction rating is a whole number of stars, 1 to 5."""


@dataclass(frozen=True)
class StateGuard:
    """The states a conversation must be in for a message to be appended, checked in the append itself."""

    action: str
    """What is refused, for the IllegalTransition (e.g. "bot_reply")."""
    allowed: frozenset[ConversationState]

    def check(self, state: ConversationState) -> None:
        """IllegalTransition unless `state` is allowed."""
        if state not in self.allowed:
            raise IllegalTransition(self.action, state.value)


@dataclass(frozen=True)
class Activity:
    """What happened in a span of time, for the supervisor's figures."""

    conversations: int
    """Conversations started."""
    bot_resolved: int
    """Bot answers the client rated 问题已解答 (tier-1 feedback, resolved)."""
    tickets: tuple[Ticket, ...]
    """Tickets opened (escalations to tier 2 or tier 3), oldest first."""


@dataclass(frozen=True)
class FeedbackEntry:
    """One stored 问题已解答 / 问题未解答 answer, against whoever served at the time."""

    conversation_id: str
    ticket_id: str | None
    tier: Tier
    staff_id: str | None
    resolved: bool
    at: datetime


@dataclass(frozen=True)
class SatisfactionRating:
    """A client's 1–5 rating of a resolved question (one per resolution: `resolved_at` is its 问题已解答)."""

    conversation_id: str
    score: int
    channel: Channel
    tier: Tier
    staff_id: str | None
    ticket_id: str | None
    queue: QueueName | None
    resolved_at: datetime
    at: datetime


@dataclass(frozen=True)
class ReportSource:
    """What a report over a span of time is computed from."""

    conversations: tuple[Conversation, ...]
    """Conversations started, oldest first."""
    tickets: tuple[Ticket, ...]
    """Tickets enqueued (their latest episode after a transfer), oldest first."""
    feedback: tuple[FeedbackEntry, ...]
    """问题已解答 / 问题未解答 answers given, oldest first."""
    transfers: tuple[Transition, ...]
    """transfer_queue and transfer_agent transitions, oldest first."""
    ratings: tuple[SatisfactionRating, ...]
    """Satisfaction ratings given, oldest first."""


class Record(Protocol):
    """Durable storage of the directory, conversations, messages, tickets, feedback and audit."""

    # directory
    async def get_client(self, client_id: str) -> Client | None:
        """The client with this id, or None."""
        ...

    async def get_client_by_wecom(self, wecom_id: str) -> Client | None:
        """The client bound to this WeCom external user id, or None."""
        ...

    async def list_clients(self) -> list[Client]:
        """Every client, ordered by id."""
        ...

    async def get_staff(self, staff_id: str) -> Staff | None:
        """The staff member with this id, or None."""
        ...

    async def list_staff(self, role: Role | None = None) -> list[Staff]:
        """Every staff member (of one role if given), ordered by id."""
        ...

    async def duty_manager(self, branch: str) -> Staff | None:
        """The branch's duty manager (the first by id if several), or None."""
        ...

    async def replace_clients(self, clients: Sequence[Client]) -> None:
        """Upsert these clients in one transaction (clients not listed are kept)."""
        ...

    async def replace_staff(self, staff: Sequence[Staff]) -> None:
        """Upsert these staff members in one transaction (password hashes are kept)."""
        ...

    async def get_password_hash(self, staff_id: str) -> str | None:
        """The stored password hash, or None if unset or the staff member is unknown."""
        ...

    async def set_password_hash(self, staff_id: str, password_hash: str) -> None:
        """Store a password hash; NotFound for an unknown staff member."""
        ...

    async def bump_token_version(self, staff_id: str) -> int:
        """Add one to the staff member's token version (refusing every token issued before); the new version.

        NotFound for an unknown staff member.
        """
        ...

    async def set_staff_active(self, staff_id: str, active: bool) -> Staff:
        """Enable or disable a staff member; disabling also bumps the token version. NotFound if unknown."""
        ...

    # conversations
    async def create_conversation(self, conversation: Conversation) -> None:
        """Insert a new conversation (its version as given, normally 0); ConversationAlreadyOpen if it would be
        the client's second conversation that is not closed on its channel."""
        ...

    async def open_conversation(self, conversation: Conversation) -> tuple[Conversation, bool]:
        """Insert `conversation` unless its client already has one that is not closed on its channel.

        Returns the client's open conversation on that channel and whether it is the one just inserted.
        Safe under concurrent calls: of any number of simultaneous opens, one inserts and the rest return it.
        """
        ...

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation with this id, or None."""
        ...

    async def save_transition(self, before: Conversation, after: Conversation, transition: Transition) -> None:
        """Compare-and-set `before` -> `after` and append `transition`, atomically."""
        ...

    async def append_message(  # noqa: PLR0917 - the contract's positional signature
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
        """Append a message with the next seq (1, 2, ...); NotFound for an unknown conversation.

        A `client_msg_id` already stored in the conversation raises DuplicateClientMessage with the stored
        message, whichever worker stored it (a client resending after a lost answer). With `only_in`, the
        conversation's state is checked under the same lock as the append (IllegalTransition, nothing stored).
        """
        ...

    async def list_messages(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        """Messages with seq > after_seq in seq order, at most `limit`."""
        ...

    async def latest_messages(
        self, conversation_id: str, limit: int = 50, sender: SenderKind | None = None, before_seq: int | None = None
    ) -> list[Message]:
        """The newest `limit` messages (of one sender if given, below `before_seq` if given), in seq order."""
        ...

    async def list_transitions(self, conversation_id: str) -> list[Transition]:
        """The conversation's transitions in the order they were saved."""
        ...

    async def conversations_in_states(self, states: Collection[ConversationState]) -> list[Conversation]:
        """Conversations in any of these states, oldest first."""
        ...

    async def active_count(self, staff_id: str) -> int:
        """Conversations with_agent or with_responder assigned to this staff member."""
        ...

    # tickets
    async def open_ticket(self, ticket: Ticket) -> None:
        """Insert a new ticket."""
        ...

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        """The ticket with this id, or None."""
        ...

    async def update_ticket(self, ticket: Ticket) -> None:
        """Overwrite a stored ticket; NotFound if there is none with its id."""
        ...

    async def open_tickets(self) -> list[Ticket]:
        """Tickets still open or assigned, by priority (highest first) then enqueued_at."""
        ...

    async def tickets_for_conversation(self, conversation_id: str) -> list[Ticket]:
        """Every ticket of a conversation, oldest first."""
        ...

    async def recent_handle_seconds(self, queue: QueueName, limit: int = 50) -> list[float]:
        """Seconds from assignment to resolution of the queue's latest resolved tickets, newest first."""
        ...

    # figures
    async def activity_between(self, start: datetime, end: datetime, branch: str | None = None) -> Activity:
        """Conversations created, resolved bot ratings given and tickets enqueued at or after `start`, before `end`
        (only of clients of `branch` when given)."""
        ...

    async def report_source(self, start: datetime, end: datetime, branch: str | None = None) -> ReportSource:
        """Conversations, tickets, feedback, transfers and ratings of [start, end) (created, enqueued, given),
        only of clients of `branch` when given."""
        ...

    # feedback, ratings and audit
    async def add_feedback(  # noqa: PLR0917 - the contract's positional signature
        self,
        conversation_id: str,
        ticket_id: str | None,
        tier: Tier,
        staff_id: str | None,
        resolved: bool,
        at: datetime,
    ) -> None:
        """Record the client's 问题已解答 / 问题未解答 answer."""
        ...

    async def last_feedback(self, conversation_id: str) -> FeedbackEntry | None:
        """The conversation's latest 问题已解答 / 问题未解答 answer, or None."""
        ...

    async def add_rating(self, rating: SatisfactionRating) -> None:
        """Store a satisfaction rating; routing.errors.AlreadyRated if that resolution already has one."""
        ...

    async def audit(self, actor: str, action: str, subject: str, detail: dict[str, object], at: datetime) -> None:
        """Chain one entry onto the audit log (actions: routing.audit.AuditAction; detail: JSON-able, normalised)."""
        ...

    # compliance
    async def search_conversations(self, query: ConversationQuery) -> SearchPage:
        """One page of conversations matching a checked query, newest first (the rule: routing.compliance)."""
        ...
