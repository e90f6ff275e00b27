"""Routing vocabulary: the pure records every routing module and adapter shares.

Nothing here talks to a store; adapters translate these records to rows, keys and events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum


class ConversationState(StrEnum):
    """Where a conversation is; exactly one at a time."""

    BOT = "bot"
    QUEUED = "queued"
    WITH_AGENT = "with_agent"
    AWAITING_RESPONDER = "awaiting_responder"
    WITH_RESPONDER = "with_responder"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Tier(IntEnum):
    """Who answers: 1 robot advisor, 2 online advisor/service, 3 assigned responder."""

    BOT = 1
    ONLINE = 2
    RESPONDER = 3


class QueueName(StrEnum):
    """Tier-2 queues: investment questions go to advisors, business questions to service."""

    ADVISOR = "advisor"
    SERVICE = "service"


class Role(StrEnum):
    """Staff roles."""

    ADVISOR = "advisor"
    SERVICE = "service"
    RESPONDER = "responder"
    DUTY_MANAGER = "duty_manager"
    ADMIN = "admin"
    COMPLIANCE = "compliance"
    """Searches and exports conversations for compliance; serves no client and sees no live queue."""


class Presence(StrEnum):
    """Staff presence; online expires without heartbeat."""

    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


class Channel(StrEnum):
    """Where a client talks from."""

    WIDGET = "widget"
    WECOM = "wecom"
    API = "api"


class SenderKind(StrEnum):
    """Who wrote a message."""

    CLIENT = "client"
    BOT = "bot"
    AGENT = "agent"
    RESPONDER = "responder"
    SYSTEM = "system"


class EscalationReason(StrEnum):
    """Why a conversation left the bot or moved a tier up."""

    LOW_SCORE = "low_score"
    CLIENT_UNRESOLVED = "client_unresolved"
    ASKED_HUMAN = "asked_human"
    ADVICE_REQUEST = "advice_request"
    KB_UNAVAILABLE = "kb_unavailable"
    WAIT_LIMIT = "wait_limit"
    AGENT_UNRESOLVED = "agent_unresolved"
    AGENT_ESCALATED = "agent_escalated"
    OFF_HOURS = "off_hours"
    NO_STAFF_ONLINE = "no_staff_online"
    RESPONDER_TIMEOUT = "responder_timeout"
    STAFF_DISABLED = "staff_disabled"


@dataclass(frozen=True)
class Client:
    """A brokerage client as the directory knows them."""

    id: str
    name: str
    tier: str
    vip: bool
    branch: str
    responder_id: str
    wecom_id: str | None = None


@dataclass(frozen=True)
class Staff:
    """An employee who can serve clients."""

    id: str
    name: str
    role: Role
    skills: frozenset[QueueName]
    max_concurrency: int
    branch: str
    practice_number: str | None = None
    backup_id: str | None = None
    wecom_user_id: str | None = None
    active: bool = True
    """False: disabled, cannot sign in, and no token of theirs is accepted."""
    token_version: int = 0
    """Carried by every access token; bumped (by the record only) to refuse every token issued before."""


@dataclass(frozen=True)
class ServedBy:
    """Who served an answer: 谁服务、谁负责."""

    tier: Tier
    staff_id: str | None
    at: datetime


@dataclass(frozen=True)
class Message:
    """One message of a conversation, in order (seq grows by one per conversation)."""

    id: str
    conversation_id: str
    seq: int
    sender: SenderKind
    text: str
    created_at: datetime
    payload: dict[str, object] = field(default_factory=dict)
    served_by: ServedBy | None = None
    client_msg_id: str | None = None
    """The sender's own id for a message (the widget's, an app's, the console's): sent again, the same message."""


@dataclass(frozen=True)
class Conversation:
    """A client's conversation with the branch and where it stands."""

    id: str
    client_id: str
    channel: Channel
    state: ConversationState
    tier: Tier
    created_at: datetime
    updated_at: datetime
    queue: QueueName | None = None
    assignee_id: str | None = None
    ticket_id: str | None = None
    escalation_reason: EscalationReason | None = None
    version: int = 0
    """Optimistic-lock counter: the record stores `after` of a transition with `before.version + 1`."""


@dataclass(frozen=True)
class Transition:
    """A recorded state change: who, which tier, why and when."""

    conversation_id: str
    name: str
    from_state: ConversationState
    to_state: ConversationState
    actor: str
    tier: Tier
    reason: str
    at: datetime


class TicketStatus(StrEnum):
    """Where one escalation episode stands."""

    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    ESCALATED = "escalated"
    CLOSED = "closed"


LIVE_TICKET_STATUSES = frozenset({TicketStatus.OPEN, TicketStatus.ASSIGNED})
"""A ticket still waiting for, or being served by, someone."""


class ResponderStep(IntEnum):
    """Rung of the tier-3 ladder: the assigned responder, their backup, then the duty manager."""

    RESPONDER = 0
    BACKUP = 1
    DUTY_MANAGER = 2


@dataclass(frozen=True)
class Ticket:
    """One escalation episode of a conversation (one per tier-2 queueing or tier-3 hand-over).

    `priority` is an integer where higher is served first (VIP above standard); ties are broken by
    `enqueued_at`, earlier first. `queue` is None for tier-3 tickets, which go to a person, not a queue.
    """

    id: str
    conversation_id: str
    client_id: str
    tier: Tier
    reason: EscalationReason
    question: str
    enqueued_at: datetime
    queue: QueueName | None = None
    priority: int = 0
    vip: bool = False
    status: TicketStatus = TicketStatus.OPEN
    assigned_to: str | None = None
    assigned_at: datetime | None = None
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    responder_step: ResponderStep | None = None
    responder_deadline: datetime | None = None
