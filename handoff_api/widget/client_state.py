"""The state side of one widget connection: hand-over notices, queue position and who serves.

The client is told when what it sees changes: the state, the queue, its place, the rounded wait or
the person serving (`Shown`). Facts are read through routing's `client_facts`, which costs several
queries, so the feed reads them only when something may have changed: `may_change` tells from an
event alone whether it can change what the client was shown, and `facts_of` builds the facts of a
conversation that needs no lookup (the bot, resolved and closed states). `announcements` is the pure
rule for what to send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from handoff_api.realtime import finish_then_cancel
from handoff_api.widget import envelopes
from handoff_api.widget.envelopes import Envelope
from routing.events import (
    AgentJoined,
    Closed,
    Escalated,
    PositionChanged,
    Queued,
    Resolved,
    RoutingEvent,
)
from routing.models import Conversation, ConversationState
from routing.service import ClientFacts
from routing.state_machine import being_served, human_holds

S = ConversationState
SERVED_STATES = frozenset({S.WITH_AGENT, S.WITH_RESPONDER})

Send = Callable[[Mapping[str, Any]], Awaitable[None]]
ReadFacts = Callable[[], Awaitable[ClientFacts]]


@dataclass(frozen=True)
class Shown:
    """What the client was last told."""

    state: ConversationState
    queue: str | None
    position: int | None
    wait_seconds: int | None
    staff_id: str | None
    tier: int

    @property
    def hands(self) -> tuple[ConversationState, str | None, str | None]:
        """Who holds the conversation: the state, the queue and the person."""
        return self.state, self.queue, self.staff_id

    @property
    def key(self) -> tuple[ConversationState, str | None, int | None, int | None, str | None]:
        """What the client sees; a new announcement is due when it changes."""
        return self.state, self.queue, self.position, self.wait_seconds, self.staff_id


def shown_of(facts: ClientFacts) -> Shown:
    """What the client sees of these facts."""
    wait = facts.estimated_wait_seconds
    return Shown(
        facts.state,
        facts.queue.value if facts.queue else None,
        facts.position,
        None if wait is None else round(wait),
        facts.serving.staff_id if facts.serving else None,
        int(facts.tier),
    )


def facts_of(conversation: Conversation) -> ClientFacts | None:
    """The client's facts straight from the conversation, when they need no lookup (not queued, no person)."""
    if conversation.state == S.QUEUED or human_holds(conversation.state):
        return None
    return ClientFacts(conversation.id, conversation.state, conversation.tier, conversation.queue, None, None, None)


def announcements(facts: ClientFacts, previous: Shown | None, force: bool = False) -> list[Envelope]:
    """What to send when the facts are as given and the client was last shown `previous`."""
    now = shown_of(facts)
    if previous is not None and now.key == previous.key and not force:
        return []
    changed_hands = previous is None or previous.hands != now.hands
    sent: list[Envelope] = []
    serving = facts.serving
    if changed_hands and not (previous is None and facts.state == S.BOT):
        sent.append(envelopes.handoff(facts.state.value, now.queue, now.tier, serving.name if serving else None))
    if facts.state == S.QUEUED:
        sent.append(envelopes.queue_position(now.queue, facts.position, facts.estimated_wait_seconds))
    elif serving is not None and being_served(facts.state):
        if changed_hands or force:
            role = serving.role.value
            sent.append(envelopes.agent_joined(serving.name, role, serving.practice_number, now.tier))
    elif facts.state == S.CLOSED and (changed_hands or force):
        sent.append(envelopes.closed())
    return sent


def may_change(shown: Shown | None, event: RoutingEvent) -> bool:
    """Whether an event about the client's conversation can change what the client was shown.

    An event that only confirms what was shown (the conversation is already queued there, at that
    place; already with that person at that tier; already resolved or closed) cannot.
    """
    if shown is None:
        return True
    if isinstance(event, Queued | PositionChanged):
        return shown.hands != (S.QUEUED, event.queue, None) or shown.position != event.position
    if isinstance(event, AgentJoined):
        return not (shown.state in SERVED_STATES and (shown.staff_id, shown.tier) == (event.staff_id, event.tier))
    if isinstance(event, Escalated):
        return shown.hands != (S.AWAITING_RESPONDER, None, event.staff_id) or shown.tier != event.tier
    if isinstance(event, Resolved):
        return shown.state != S.RESOLVED
    if isinstance(event, Closed):
        return shown.state != S.CLOSED
    return True


class ClientStateFeed:
    """Keeps one widget told about its conversation's state, reading facts only when needed."""

    def __init__(self, send: Send, read_facts: ReadFacts, state: ConversationState) -> None:
        self._send = send
        self._read_facts = read_facts
        self._lock = asyncio.Lock()
        self.state = state
        self.shown: Shown | None = None

    def may_change(self, event: RoutingEvent) -> bool:
        """Whether the event can change what this client was shown."""
        return may_change(self.shown, event)

    async def refresh(self, force: bool = False) -> None:
        """Read the facts and announce what changed (everything, when forced)."""
        async with self._lock:
            await self._show(await finish_then_cancel(self._read_facts()), force)

    async def settle(self, conversation: Conversation) -> None:
        """After a turn moved the conversation: announce from it when it needs no lookup, else read the facts."""
        facts = facts_of(conversation)
        if facts is None:
            await self.refresh()
            return
        async with self._lock:
            await self._show(facts, force=False)

    async def _show(self, facts: ClientFacts, force: bool) -> None:
        sent = announcements(facts, self.shown, force)
        self.shown = shown_of(facts)
        self.state = facts.state
        for envelope in sent:
            await self._send(envelope)
