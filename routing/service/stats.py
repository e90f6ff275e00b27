"""The supervisor's figures for one day in the branch's time zone: conversations, resolutions per tier,
the bot's resolution rate, median first response and wait, and the questions the bot could not resolve.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from routing.models import EscalationReason, Tier
from routing.ports import Clock
from routing.records import Activity, Record

TOP_UNRESOLVED = 10
BOT_GAVE_UP = frozenset(
    {
        EscalationReason.LOW_SCORE,
        EscalationReason.CLIENT_UNRESOLVED,
        EscalationReason.ASKED_HUMAN,
        EscalationReason.KB_UNAVAILABLE,
        EscalationReason.NO_STAFF_ONLINE,
        EscalationReason.OFF_HOURS,
    }
)
"""Ticket reasons of escalations the bot could not resolve (off_hours / no_staff_online: tier 2 was closed)."""


@dataclass(frozen=True)
class UnresolvedQuestion:
    """A question the bot could not resolve, and how often it came that day."""

    question: str
    count: int


@dataclass(frozen=True)
class DayStats:
    """The supervisor's figures for one day."""

    day: date
    conversations: int
    resolved_by_tier: dict[Tier, int]
    escalated_from_bot: int
    bot_resolution_rate: float | None
    median_first_response_seconds: float | None
    median_wait_seconds: float | None
    top_unresolved: tuple[UnresolvedQuestion, ...]


def day_bounds(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """Start and end of the calendar day in `zone` that contains `now`."""
    start = datetime.combine(now.astimezone(zone).date(), time.min, zone)
    return start, start + timedelta(days=1)


def summarize_day(day: date, activity: Activity) -> DayStats:
    """The day's figures from what happened in it."""
    resolved = {Tier.BOT: activity.bot_resolved, Tier.ONLINE: 0, Tier.RESPONDER: 0}
    first_responses: list[float] = []
    waits: list[float] = []
    misses: Counter[str] = Counter()
    for ticket in activity.tickets:
        if ticket.resolved_at is not None and ticket.tier in resolved:
            resolved[ticket.tier] += 1
        if ticket.first_response_at is not None:
            first_responses.append((ticket.first_response_at - ticket.enqueued_at).total_seconds())
        if ticket.assigned_at is not None:
            waits.append((ticket.assigned_at - ticket.enqueued_at).total_seconds())
        if ticket.reason in BOT_GAVE_UP and ticket.question:
            misses[ticket.question.strip()] += 1
    escalated = len(activity.tickets)
    asked = activity.bot_resolved + escalated
    return DayStats(
        day=day,
        conversations=activity.conversations,
        resolved_by_tier=resolved,
        escalated_from_bot=escalated,
        bot_resolution_rate=round(activity.bot_resolved / asked, 4) if asked else None,
        median_first_response_seconds=_median(first_responses),
        median_wait_seconds=_median(waits),
        top_unresolved=tuple(UnresolvedQuestion(q, n) for q, n in misses.most_common(TOP_UNRESOLVED)),
    )


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


class Stats:
    """The day's figures read from the record."""

    def __init__(self, record: Record, zone: tzinfo, clock: Clock) -> None:
        self._record = record
        self._zone = zone
        self._clock = clock

    async def today(self, now: datetime | None = None, branch: str | None = None) -> DayStats:
        """The figures of the day containing `now` (default: the clock's now), of one branch's clients if given."""
        start, end = day_bounds(now or self._clock.now(), self._zone)
        return summarize_day(start.date(), await self._record.activity_between(start, end, branch))
