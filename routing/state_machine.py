"""The conversation state machine: every allowed move is a named transition in one table.

Pure: `apply` checks the table, builds the next `Conversation` (version + 1) and the `Transition`
record; it never stores anything. An unlisted move raises `IllegalTransition`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import Enum, StrEnum

from routing.errors import IllegalTransition, ValidationFailed
from routing.models import Conversation, ConversationState, EscalationReason, QueueName, Tier, Transition

S = ConversationState


class TransitionName(StrEnum):
    """Every named move a conversation can make."""

    ESCALATE_TO_QUEUE = "escalate_to_queue"
    ASSIGN = "assign"
    TRANSFER_QUEUE = "transfer_queue"
    TRANSFER_AGENT = "transfer_agent"
    ESCALATE_TO_RESPONDER = "escalate_to_responder"
    LEAVE_MESSAGE = "leave_message"
    RESPONDER_ACCEPT = "responder_accept"
    RESPONDER_REASSIGN = "responder_reassign"
    RESOLVE = "resolve"
    RETURN_TO_BOT = "return_to_bot"
    REOPEN = "reopen"
    CLOSE = "close"


@dataclass(frozen=True)
class Rule:
    """Where a transition may start, where it ends (None: decided by `reopen_target`) and its tier."""

    sources: frozenset[ConversationState]
    target: ConversationState | None
    tier: Tier | None


_TIER2_OR_BOT = frozenset({S.BOT, S.QUEUED, S.WITH_AGENT, S.RESOLVED})

RULES: dict[TransitionName, Rule] = {
    TransitionName.ESCALATE_TO_QUEUE: Rule(frozenset({S.BOT}), S.QUEUED, Tier.ONLINE),
    TransitionName.ASSIGN: Rule(frozenset({S.QUEUED}), S.WITH_AGENT, Tier.ONLINE),
    TransitionName.TRANSFER_QUEUE: Rule(frozenset({S.QUEUED, S.WITH_AGENT}), S.QUEUED, Tier.ONLINE),
    TransitionName.TRANSFER_AGENT: Rule(frozenset({S.WITH_AGENT}), S.WITH_AGENT, Tier.ONLINE),
    TransitionName.ESCALATE_TO_RESPONDER: Rule(_TIER2_OR_BOT, S.AWAITING_RESPONDER, Tier.RESPONDER),
    TransitionName.LEAVE_MESSAGE: Rule(_TIER2_OR_BOT, S.AWAITING_RESPONDER, Tier.RESPONDER),
    TransitionName.RESPONDER_ACCEPT: Rule(frozenset({S.AWAITING_RESPONDER}), S.WITH_RESPONDER, Tier.RESPONDER),
    TransitionName.RESPONDER_REASSIGN: Rule(
        frozenset({S.AWAITING_RESPONDER, S.WITH_RESPONDER}), S.AWAITING_RESPONDER, Tier.RESPONDER
    ),
    TransitionName.RESOLVE: Rule(frozenset({S.WITH_AGENT, S.WITH_RESPONDER}), S.RESOLVED, None),
    TransitionName.RETURN_TO_BOT: Rule(frozenset({S.RESOLVED}), S.BOT, Tier.BOT),
    TransitionName.REOPEN: Rule(frozenset({S.RESOLVED, S.CLOSED}), None, None),
    TransitionName.CLOSE: Rule(frozenset(set(S) - {S.CLOSED}), S.CLOSED, None),
}
"""The whole table; anything not listed here is illegal."""


HUMAN_STATES = frozenset({S.WITH_AGENT, S.AWAITING_RESPONDER, S.WITH_RESPONDER})
"""A person holds the conversation (or, awaiting a responder, is due to answer it)."""
_BOT_OWNED = frozenset({S.BOT, S.RESOLVED})
SERVED_STATES = frozenset({S.WITH_AGENT, S.WITH_RESPONDER})
"""A person is answering the client right now (what counts towards their active conversations)."""
_UNRATABLE = frozenset({S.QUEUED, S.AWAITING_RESPONDER, S.CLOSED})
_TIER2 = frozenset({S.QUEUED, S.WITH_AGENT})


def bot_owns(state: ConversationState) -> bool:
    """A client's text goes to the bot: in the bot state, and after a resolved question (the next one)."""
    return state in _BOT_OWNED


def human_holds(state: ConversationState) -> bool:
    """A person holds the conversation or is due to answer it (the bot never talks over them)."""
    return state in HUMAN_STATES


def being_served(state: ConversationState) -> bool:
    """A person is answering the client right now."""
    return state in SERVED_STATES


def can_rate(state: ConversationState) -> bool:
    """问题已解答 / 问题未解答 mean something: there is an answer to rate (not while waiting, not when closed)."""
    return state not in _UNRATABLE


def rates_human(state: ConversationState) -> bool:
    """A rating given now is about a person's answer (being served, or just resolved by a person)."""
    return state in SERVED_STATES or state == S.RESOLVED


def in_tier2_queue_or_service(state: ConversationState) -> bool:
    """Waiting in, or served from, a tier-2 queue."""
    return state in _TIER2


def is_open(state: ConversationState) -> bool:
    """The conversation has not ended."""
    return state != S.CLOSED


class Keep(Enum):
    """The type of KEEP."""

    KEEP = "keep"


KEEP = Keep.KEEP
"""Marker for `apply`: leave this field as it is."""


def is_allowed(name: TransitionName, state: ConversationState) -> bool:
    """Whether `name` may start from `state`."""
    return state in RULES[name].sources


def allowed_transitions(state: ConversationState) -> list[TransitionName]:
    """Every transition that may start from `state`, in table order."""
    return [name for name, rule in RULES.items() if state in rule.sources]


def reopen_target(conversation: Conversation) -> ConversationState:
    """A reopened conversation goes back to whoever last held it, or to the bot if nobody did."""
    if conversation.assignee_id is None:
        return S.BOT
    return S.WITH_RESPONDER if conversation.tier == Tier.RESPONDER else S.WITH_AGENT


def target_state(name: TransitionName, conversation: Conversation) -> ConversationState:
    """Where `name` takes this conversation; raises IllegalTransition if it may not start here."""
    rule = RULES[name]
    if conversation.state not in rule.sources:
        raise IllegalTransition(name.value, conversation.state.value)
    return rule.target if rule.target is not None else reopen_target(conversation)


def apply(
    conversation: Conversation,
    name: TransitionName,
    actor: str,
    reason: str,
    at: datetime,
    *,
    queue: QueueName | Keep | None = KEEP,
    assignee_id: str | Keep | None = KEEP,
    ticket_id: str | Keep | None = KEEP,
    escalation_reason: EscalationReason | Keep | None = KEEP,
) -> tuple[Conversation, Transition]:
    """The conversation after `name` (version + 1) and the transition to record.

    Raises IllegalTransition when the table forbids the move, ValidationFailed when the result
    would break a state's invariants (a queued conversation without a queue, an agent state
    without an assignee...).
    """
    target = target_state(name, conversation)
    tier = RULES[name].tier or conversation.tier
    changes: dict[str, object] = {"state": target, "tier": tier, "updated_at": at}
    for field_name, value in (
        ("queue", queue),
        ("assignee_id", assignee_id),
        ("ticket_id", ticket_id),
        ("escalation_reason", escalation_reason),
    ):
        if value is not KEEP:
            changes[field_name] = value
    if target == S.BOT:
        changes.update(queue=None, assignee_id=None, ticket_id=None, escalation_reason=None)
    after = dataclasses.replace(conversation, version=conversation.version + 1, **changes)  # type: ignore[arg-type]
    check_invariants(after)
    transition = Transition(
        conversation_id=conversation.id,
        name=name.value,
        from_state=conversation.state,
        to_state=target,
        actor=actor,
        tier=after.tier,
        reason=reason,
        at=at,
    )
    return after, transition


def check_invariants(conversation: Conversation) -> None:
    """Raise ValidationFailed if the conversation's fields contradict its state."""
    state = conversation.state
    if state == S.QUEUED and (conversation.queue is None or conversation.ticket_id is None):
        raise ValidationFailed("a queued conversation needs a queue and a ticket")
    if human_holds(state) and conversation.assignee_id is None:
        raise ValidationFailed(f"a conversation in state {state.value!r} needs an assignee")
    if state == S.QUEUED and conversation.assignee_id is not None:
        raise ValidationFailed("a queued conversation has no assignee")
