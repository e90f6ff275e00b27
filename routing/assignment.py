"""Assignment: who of the online staff takes the head of a queue (pure).

Least loaded wins among those with a free slot; ties are broken round robin by a shared counter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from routing.models import QueueName, Role, Staff

TIER2_ROLES = frozenset({Role.ADVISOR, Role.SERVICE})


@dataclass(frozen=True)
class Candidate:
    """An online staff member who could take the work, with their current load and capacity."""

    staff_id: str
    load: int
    capacity: int

    @property
    def has_free_slot(self) -> bool:
        """Whether one more conversation fits."""
        return self.load < self.capacity


def can_serve_queue(staff: Staff, queue: QueueName) -> bool:
    """Whether this staff member may take work from this tier-2 queue (skill-based)."""
    return queue in staff.skills and staff.max_concurrency > 0


def pick_assignee(candidates: Sequence[Candidate], round_robin: int) -> str | None:
    """The least-loaded candidate with a free slot; ties rotate with `round_robin`; None if all are full."""
    free = [candidate for candidate in candidates if candidate.has_free_slot]
    if not free:
        return None
    lowest = min(candidate.load for candidate in free)
    tied = sorted(candidate.staff_id for candidate in free if candidate.load == lowest)
    return tied[round_robin % len(tied)]


def assignment_order(candidates: Sequence[Candidate], round_robin: int) -> list[str]:
    """Every candidate with a free slot in the order to try them (best first).

    Used when the best choice may lose a race for its last slot: the caller tries the next one.
    """
    remaining = [c for c in candidates if c.has_free_slot]
    order: list[str] = []
    while remaining:
        chosen = pick_assignee(remaining, round_robin)
        if chosen is None:
            break
        order.append(chosen)
        remaining = [c for c in remaining if c.staff_id != chosen]
    return order
