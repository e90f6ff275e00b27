"""Supervisor reports over a date range and clients' satisfaction ratings (use cases over the record).

A report's range is of local dates in the branch's time zone, both inclusive, at most
routing.reports.MAX_REPORT_DAYS days. A rating (1–5) is taken for the conversation's latest
问题已解答, within the rating window after it, once per resolution.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from routing.errors import ValidationFailed
from routing.models import Channel
from routing.ports import Clock
from routing.records import RATING_SCORES, Record, SatisfactionRating
from routing.reports import Limits, Report, ReportBy, by_agent, by_queue, by_tier, check_range
from routing.service.journal import Journal
from routing.service.lookups import Lookups


def range_bounds(first: date, last: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The start of `first` and the end of `last` in `zone` (a half-open span of whole local days)."""
    return datetime.combine(first, time.min, zone), datetime.combine(last + timedelta(days=1), time.min, zone)


class Reports:
    """Figures per tier, queue or staff member for any range of local dates."""

    def __init__(self, record: Record, limits: Limits, zone: ZoneInfo, clock: Clock) -> None:
        self._record = record
        self._limits = limits
        self._zone = zone
        self._clock = clock

    async def report(self, first: date, last: date, by: ReportBy, branch: str | None = None) -> Report:
        """The report of local dates `first`..`last` (of one branch's clients if given); ValidationFailed for a
        reversed or too long range."""
        try:
            check_range(first, last)
        except ValueError as error:
            raise ValidationFailed(str(error)) from error
        start, end = range_bounds(first, last, self._zone)
        source = await self._record.report_source(start, end, branch)
        now = self._clock.now()
        if by == ReportBy.TIER:
            rows = by_tier(source, self._limits, now)
        elif by == ReportBy.QUEUE:
            rows = by_queue(source, self._limits, now)
        else:
            names = {member.id: member.name for member in await self._record.list_staff()}
            rows = by_agent(source, self._limits, now, names)
        return Report(first, last, by, tuple(rows))


class Ratings:
    """The client's 1–5 rating of a resolved question."""

    def __init__(self, record: Record, lookups: Lookups, journal: Journal, window: timedelta, clock: Clock) -> None:
        self._record = record
        self._lookups = lookups
        self._journal = journal
        self._window = window
        self._clock = clock

    async def due(self, conversation_id: str) -> bool:
        """The latest answer was 问题已解答 and its rating window is still open (it may already be rated)."""
        last = await self._record.last_feedback(conversation_id)
        return last is not None and last.resolved and self._clock.now() - last.at <= self._window

    async def rate(self, conversation_id: str, score: int, channel: Channel | None = None) -> SatisfactionRating:
        """Store the rating of the latest 问题已解答 (AlreadyRated if it has one; ValidationFailed if none is due)."""
        if score not in RATING_SCORES:
            raise ValidationFailed("a rating is a whole number from 1 to 5")
        conversation = await self._lookups.conversation(conversation_id)
        last = await self._record.last_feedback(conversation_id)
        now = self._clock.now()
        if last is None or not last.resolved:
            raise ValidationFailed("there is no resolved question to rate")
        if now - last.at > self._window:
            raise ValidationFailed("the time to rate this answer has passed")
        ticket = await self._lookups.ticket(last.ticket_id)
        rating = SatisfactionRating(
            conversation_id=conversation.id,
            score=score,
            channel=channel or conversation.channel,
            tier=last.tier,
            staff_id=last.staff_id,
            ticket_id=last.ticket_id,
            queue=ticket.queue if ticket else None,
            resolved_at=last.at,
            at=now,
        )
        await self._journal.record_rating(rating)
        return rating
