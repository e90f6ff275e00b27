"""Which live events a staff member's console may receive.

An admin sees everything. A duty manager sees everyone's presence and the events of their own branch's
conversations. Others see their own presence, events naming them, queue movements of the queues they serve,
and events of conversations they may open. Conversations are checked against routing's access rules (which
scope a duty manager to their branch), cached briefly per connection and dropped when they change hands.

What they receive (`wire`): queue events carry no text; a message event keeps its text only for the staff
member who serves the conversation (or wrote the message). Everyone else watching (a queue, a supervisor's
overview, a responder following a colleague) gets its text and payload with personal data masked; opening
the conversation shows it whole, and the opening is audited.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from handoff_api.masking import mask_strings, mask_text
from routing.events import (
    HAND_OVER_EVENTS,
    QUEUE_MOVEMENT_EVENTS,
    MessageAdded,
    PresenceChanged,
    RoutingEvent,
    conversation_of,
    to_wire,
)
from routing.models import Role, Staff

SUPERVISORS = frozenset({Role.DUTY_MANAGER, Role.ADMIN})
FIRM_WIDE = frozenset({Role.ADMIN})
TIER2 = frozenset({Role.ADVISOR, Role.SERVICE})
CACHE_SECONDS = 10.0

CanView = Callable[[str], Awaitable[bool]]


class Visibility:
    """Decides per event; `may_view(conversation_id)` asks routing whether the staff member may open it."""

    def __init__(
        self,
        staff: Staff,
        may_view: CanView,
        clock: Callable[[], float] = time.monotonic,
        serves: CanView | None = None,
    ) -> None:
        self.staff = staff
        self._may_view = may_view
        self._serves = serves
        self._clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}
        self._serving: dict[str, tuple[bool, float]] = {}

    @property
    def supervisor(self) -> bool:
        """Sees everyone's presence (and, firm-wide or for their branch, the conversations)."""
        return self.staff.role in SUPERVISORS

    @property
    def firm_wide(self) -> bool:
        """Sees every event of every branch."""
        return self.staff.role in FIRM_WIDE

    def quick(self, event: RoutingEvent) -> bool:
        """A cheap first filter (no I/O): could this event concern the staff member at all?"""
        if self.firm_wide:
            return True
        if isinstance(event, PresenceChanged):
            return self.supervisor or event.staff_id == self.staff.id
        return conversation_of(event) is not None

    async def allows(self, event: RoutingEvent) -> bool:
        """The full decision (may look the conversation up)."""
        if not self.quick(event):
            return False
        conversation_id = conversation_of(event)
        if conversation_id is not None and event.kind in HAND_OVER_EVENTS:
            self._cache.pop(conversation_id, None)
            self._serving.pop(conversation_id, None)
        if self.firm_wide or conversation_id is None:
            return True
        if getattr(event, "staff_id", None) == self.staff.id:
            return True
        if self._serves_queue(event):
            return True
        return await self._viewable(conversation_id)

    def _serves_queue(self, event: RoutingEvent) -> bool:
        queue = getattr(event, "queue", None)
        return (
            self.staff.role in TIER2
            and event.kind in QUEUE_MOVEMENT_EVENTS
            and isinstance(queue, str)
            and queue in {skill.value for skill in self.staff.skills}
        )

    async def _viewable(self, conversation_id: str) -> bool:
        return await self._cached(self._cache, self._may_view, conversation_id)

    async def wire(self, event: RoutingEvent) -> dict[str, Any]:
        """The event as this console receives it: a message's text and payload masked unless it serves it."""
        data = to_wire(event)
        if isinstance(event, MessageAdded) and not await self._sees_text(event):
            data["text"] = mask_text(event.text)
            data["payload"] = mask_strings(dict(event.payload))
        return data

    async def _sees_text(self, event: MessageAdded) -> bool:
        """The staff member wrote the message, or serves (holds) the conversation."""
        if event.staff_id == self.staff.id:
            return True
        if self._serves is None:
            return False
        return await self._cached(self._serving, self._serves, event.conversation_id)

    async def _cached(self, cache: dict[str, tuple[bool, float]], ask: CanView, conversation_id: str) -> bool:
        now = self._clock()
        cached = cache.get(conversation_id)
        if cached is not None and now - cached[1] < CACHE_SECONDS:
            return cached[0]
        answer = await ask(conversation_id)
        if len(cache) > 2_000:
            cache.clear()
        cache[conversation_id] = (answer, now)
        return answer
