"""Idle agents: a tier-2 conversation whose client waits too long for the agent holding it is given back.

The client waits from their first message the agent has not answered, or from the claim when the agent has
written nothing since (the client's question is still open). At the warning the agent hears it once (an
`IdleWarning` on their console); at the limit the agent is set away (nothing new is assigned to them; their
other conversations stay) and the conversation goes back to its queue at its original place, or to tier 3
when nobody else is online, as after a departure. The client is told either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from routing.events import IdleWarning
from routing.models import Conversation, ConversationState, Message, Presence, SenderKind
from routing.ports import Clock, IdempotencyStore
from routing.records import Record
from routing.service.departures import Departures
from routing.service.journal import Journal
from routing.service.lookups import Lookups
from routing.service.rules import IdleLimits

RECENT_MESSAGES = 50
"""How far back the sweep reads each conversation (the unanswered run of client messages is at its end)."""
WARNED_KEY = "idle-warned:{conversation_id}:{since}"
Outcome = Literal["warned", "given back"] | None


class SetsPresence(Protocol):
    """What the sweep needs of attendance (routing.service.attendance)."""

    async def set_presence(self, staff_id: str, presence: Presence) -> None:
        """Set and announce a staff member's presence."""
        ...


@dataclass(frozen=True)
class IdleSweep:
    """What one sweep did."""

    warned: int = 0
    given_back: int = 0


def waiting_since(messages: Sequence[Message], assigned_at: datetime) -> datetime | None:
    """Since when the client waits for the agent: their first message after the agent's last one (since the
    claim), or the claim itself when the agent has not written since; None when the agent answered last."""
    recent = [m for m in messages if m.created_at >= assigned_at and m.sender in {SenderKind.CLIENT, SenderKind.AGENT}]
    answered = [i for i, m in enumerate(recent) if m.sender == SenderKind.AGENT]
    if not answered:
        return assigned_at
    unanswered = recent[answered[-1] + 1 :]
    return unanswered[0].created_at if unanswered else None


class IdleAgents:
    """Warns, then gives back, conversations whose client the holding agent leaves unanswered."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self,
        record: Record,
        lookups: Lookups,
        journal: Journal,
        departures: Departures,
        attendance: SetsPresence,
        marks: IdempotencyStore,
        clock: Clock,
        limits: IdleLimits,
    ) -> None:
        self._record = record
        self._lookups = lookups
        self._journal = journal
        self._departures = departures
        self._attendance = attendance
        self._marks = marks
        self._clock = clock
        self._limits = limits

    async def sweep(self) -> IdleSweep:
        """Check every conversation an agent holds, once."""
        if not (self._limits.limit or self._limits.warning):
            return IdleSweep()
        warned = given_back = 0
        for conversation in await self._record.conversations_in_states({ConversationState.WITH_AGENT}):
            outcome = await self._check(conversation)
            warned += outcome == "warned"
            given_back += outcome == "given back"
        return IdleSweep(warned, given_back)

    async def _check(self, conversation: Conversation) -> Outcome:
        staff_id = conversation.assignee_id
        ticket = await self._lookups.ticket(conversation.ticket_id)
        if staff_id is None or ticket is None:
            return None
        limit, warning = self._limits.limit, self._limits.warning
        assigned_at = ticket.assigned_at or conversation.updated_at
        now = self._clock.now()
        if now - assigned_at < min(x for x in (limit, warning) if x):
            return None  # the wait starts at the claim at the earliest: nothing to read yet
        since = waiting_since(await self._record.latest_messages(conversation.id, RECENT_MESSAGES), assigned_at)
        if since is None:
            return None
        waited = now - since
        if limit and waited >= limit:
            return await self._give_back(conversation, staff_id, waited)
        if warning and waited >= warning:
            return await self._warn(conversation, staff_id, since, limit - waited if limit else None)
        return None

    async def _warn(
        self, conversation: Conversation, staff_id: str, since: datetime, left: timedelta | None
    ) -> Outcome:
        key = WARNED_KEY.format(conversation_id=conversation.id, since=since.isoformat())
        if not await self._marks.claim(key, int((self._limits.limit or self._limits.warning).total_seconds()) + 3600):
            return None  # already warned about this wait (by this worker or another)
        seconds_left = max(int(left.total_seconds()), 0) if left is not None else 0
        await self._journal.publish(IdleWarning(conversation.id, staff_id, seconds_left))
        return "warned"

    async def _give_back(self, conversation: Conversation, staff_id: str, waited: timedelta) -> Outcome:
        """Set the agent away first (nothing new for them, and not counted online), then move the conversation
        (its transition, audited by the journal, carries the reason)."""
        await self._attendance.set_presence(staff_id, Presence.AWAY)
        why = f"agent idle for {round(waited.total_seconds())} s"
        return "given back" if await self._departures.give_back_one(conversation, why, idle=True) else None
