"""Reconciliation: SQL is the record, and every tick makes the queue store and the agents' loads agree with it.

Entries are read before the record is re-read (the record is always written first), and every
repair holds the entry under a lease while it checks, so a repair never races a live escalation,
claim or move: at worst it leaves something for the next tick. Load counters: `routing.service.load_repair`.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import timedelta

from routing.models import Conversation, ConversationState, QueueName
from routing.ports import Clock, PresenceStore
from routing.records import Record
from routing.service.assigner import QUEUE_SCAN_LIMIT, Assigner
from routing.service.load_repair import LoadRepair

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Repairs:
    """What one reconciliation repaired (all zero when the stores agreed)."""

    restored: int = 0
    """Conversations queued in the record but missing from the queue store: enqueued again."""
    dropped: int = 0
    """Entries no conversation waits on (moved on, closed, another ticket): removed."""
    moved: int = 0
    """Entries in the wrong queue: moved to their conversation's queue."""
    loads: int = 0
    """Agents' load counters that disagreed with the conversations they hold: set to that number."""

    @property
    def total(self) -> int:
        """Every repair."""
        return self.restored + self.dropped + self.moved + self.loads


class Reconciler:
    """Repairs the queue store from the record."""

    def __init__(
        self, record: Record, assigner: Assigner, presence: PresenceStore, clock: Clock, grace_seconds: float
    ) -> None:
        self._record = record
        self._assigner = assigner
        self._presence = presence
        self._clock = clock
        self._grace = timedelta(seconds=grace_seconds)
        self._loads = LoadRepair(record, presence, clock, grace_seconds)

    async def reconcile(self) -> Repairs:
        """Drop or move entries the record disagrees with, then restore the missing ones."""
        queued = await self._record.conversations_in_states({ConversationState.QUEUED})
        waiting = {c.ticket_id: c for c in queued if c.ticket_id}
        present = await self._assigner.leased_tickets()
        outcomes: dict[str, int] = {"dropped": 0, "moved": 0}
        for queue in QueueName:
            for entry in await self._assigner.waiting(queue, QUEUE_SCAN_LIMIT):
                present.add(entry.ticket_id)
                known = waiting.get(entry.ticket_id)
                if known is not None and known.id == entry.conversation_id and known.queue == queue:
                    continue
                outcome = await self._assigner.verify(entry)  # newer than the snapshot, or wrong
                if outcome in outcomes:
                    outcomes[outcome] += 1
                    logger.warning("queue repair: %s ticket %s of %s", outcome, entry.ticket_id, entry.conversation_id)
        restored = await self._restore_missing(waiting, present)
        loads = await self._loads.correct()
        return Repairs(restored, outcomes["dropped"], outcomes["moved"], loads)

    async def _restore_missing(self, waiting: dict[str, Conversation], present: set[str]) -> int:
        """Enqueue again every settled queued conversation whose ticket is nowhere in the queue store."""
        restored = 0
        settled_before = self._clock.now() - self._grace
        for ticket_id, conversation in waiting.items():
            if ticket_id in present or conversation.updated_at > settled_before or conversation.queue is None:
                continue
            ticket = await self._record.get_ticket(ticket_id)
            if ticket is not None and await self._assigner.restore(
                dataclasses.replace(ticket, queue=conversation.queue)
            ):
                restored += 1
                logger.warning("queue repair: restored ticket %s of %s", ticket_id, conversation.id)
        return restored
