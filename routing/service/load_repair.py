"""Load repair: every agent's load counter comes to equal the conversations the record says they hold.

A counter drifts when the stores lose a race they cannot share a transaction for: a rebuild after a flush
that counted a conversation a resolve then released, a worker that died between a claim's reserve and the
record. The protocol everywhere else is "reserve before the record holds it, release after the record let
it go", so work in flight only ever makes a counter read high:

- a counter lower than what is held is drift, and dangerous (the agent would be given more than their
  capacity): it is corrected at once. Counters are read before the record, and the correction only
  applies if the counter still reads what was seen, so a claim that reserved meanwhile is not overwritten;
- a counter higher than what is held may be a claim in flight: it is corrected only when the same counter
  and the same held conversations were seen for a grace period, and again only if the counter is unchanged.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.models import ConversationState
from routing.ports import Clock, PresenceStore
from routing.records import Record

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sighting:
    """A counter that read high: what it read, what was held, and since when the same."""

    load: int
    held: frozenset[str]
    since: datetime


class LoadRepair:
    """Corrects drifted load counters from the record (one instance per worker: it remembers its sightings)."""

    def __init__(self, record: Record, presence: PresenceStore, clock: Clock, grace_seconds: float) -> None:
        self._record = record
        self._presence = presence
        self._clock = clock
        self._grace = timedelta(seconds=grace_seconds)
        self._high: dict[str, Sighting] = {}

    async def correct(self) -> int:
        """Correct what can safely be corrected now; how many counters were set."""
        staff_ids = sorted(member.id for member in await self._record.list_staff())
        loads = await self._presence.loads(staff_ids)  # the counters first, then the record
        held: defaultdict[str, set[str]] = defaultdict(set)
        for conversation in await self._record.conversations_in_states({ConversationState.WITH_AGENT}):
            if conversation.assignee_id:
                held[conversation.assignee_id].add(conversation.id)
        now = self._clock.now()
        high: dict[str, Sighting] = {}
        corrected = 0
        for staff_id, load in loads.items():
            holding = frozenset(held.get(staff_id, ()))
            if load == len(holding):
                continue
            if load > len(holding):
                seen = self._high.get(staff_id)
                if seen is None or (seen.load, seen.held) != (load, holding):
                    seen = Sighting(load, holding, now)
                if now - seen.since < self._grace:
                    high[staff_id] = seen
                    continue
            if await self._presence.correct_load(staff_id, load, len(holding)):
                corrected += 1
                logger.warning("load repair: %s counted %d but holds %d", staff_id, load, len(holding))
        self._high = high
        return corrected
