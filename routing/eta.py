"""Estimated wait in a tier-2 queue from recent handle times and the online staff's free slots."""

from __future__ import annotations

import statistics
from collections.abc import Sequence


def typical_handle_seconds(recent: Sequence[float], default_seconds: float) -> float:
    """Median of recent handle times (robust to one stuck ticket), or the default with no history."""
    valid = [seconds for seconds in recent if seconds >= 0]
    return statistics.median(valid) if valid else default_seconds


def estimate_wait_seconds(
    position: int,
    recent_handle_seconds: Sequence[float],
    online_slots: Sequence[tuple[int, int]],
    default_handle_seconds: float,
) -> float | None:
    """Seconds until the ticket at `position` (1 = next) is likely taken; None if nobody is online.

    `online_slots` holds (load, capacity) of each online staff member with the queue's skill.
    Positions covered by free slots wait ~0; the rest wait for slots to free, and with every slot
    busy one frees every `handle / total_slots` seconds on average.
    """
    if position < 1:
        raise ValueError("position is 1-based")
    total_slots = sum(max(capacity, 0) for _load, capacity in online_slots)
    if total_slots == 0:
        return None
    free_slots = sum(max(capacity - load, 0) for load, capacity in online_slots)
    if position <= free_slots:
        return 0.0
    handle = typical_handle_seconds(recent_handle_seconds, default_handle_seconds)
    return (position - free_slots) * handle / total_slots
