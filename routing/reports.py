"""Supervisor reports, pure: figures per tier, per tier-2 queue or per staff member from a ReportSource.

Terms (the README defines them for supervisors too):
- volume: tier 1 conversations started; tiers 2 and 3, queues and staff: tickets (escalation episodes);
- bot resolution confirmed: the client clicked 问题已解答 on a bot answer;
- bot resolution assumed: a conversation that stayed with the bot (never escalated) and got no feedback;
- first response: enqueue to the first staff message; wait: enqueue to claim (tier 3: to acceptance);
  handle: claim to resolution. A transfer starts a new episode on the same ticket (queue transfer: a new
  enqueue; agent transfer: a new claim), so the times are those of the ticket's latest episode;
- SLA breach: a wait over the limit (tier 2: the wait limit; tier 3: the responder's first-reply limit),
  counted also for a ticket never claimed that waited past it (still waiting, or moved up for it);
- transfers: transfer_queue and transfer_agent moves; satisfaction: the 1–5 ratings given.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from routing.models import LIVE_TICKET_STATUSES, ConversationState, EscalationReason, Ticket, Tier
from routing.records import ReportSource, SatisfactionRating

MAX_REPORT_DAYS = 366
"""The longest date range a report covers."""
TIER_LABELS = {Tier.BOT: "智能投顾机器人", Tier.ONLINE: "在线投顾/在线客服", Tier.RESPONDER: "专属响应人"}
QUEUE_LABELS = {"advisor": "在线投顾", "service": "在线客服"}


class ReportBy(StrEnum):
    """How a report's rows are grouped."""

    TIER = "tier"
    QUEUE = "queue"
    AGENT = "agent"


@dataclass(frozen=True)
class Limits:
    """The SLA limits a report measures waits against."""

    tier2_wait: timedelta
    responder_wait: timedelta

    def for_tier(self, tier: Tier) -> timedelta:
        """The wait limit of a ticket of this tier."""
        return self.responder_wait if tier == Tier.RESPONDER else self.tier2_wait


@dataclass(frozen=True)
class ReportRow:
    """The figures of one tier, queue or staff member (durations in seconds, medians; None: no data)."""

    key: str
    label: str
    volume: int
    bot_confirmed: int
    bot_assumed: int
    first_response_seconds: float | None
    wait_seconds: float | None
    handle_seconds: float | None
    sla_breaches: int
    transfers: int
    ratings: int
    average_rating: float | None
    rating_counts: tuple[int, int, int, int, int]
    """How many ratings of 1, 2, 3, 4 and 5 stars."""


@dataclass(frozen=True)
class Report:
    """A supervisor report over local dates `first`..`last` (inclusive)."""

    first: date
    last: date
    by: ReportBy
    rows: tuple[ReportRow, ...]


def check_range(first: date, last: date) -> None:
    """Raise ValueError unless `first` <= `last` and the range spans at most MAX_REPORT_DAYS days."""
    if last < first:
        raise ValueError(f"the range ends ({last.isoformat()}) before it starts ({first.isoformat()})")
    days = (last - first).days + 1
    if days > MAX_REPORT_DAYS:
        raise ValueError(f"the range spans {days} days; at most {MAX_REPORT_DAYS} days per report")


@dataclass(frozen=True)
class _Group:
    """What one row is computed from."""

    tickets: list[Ticket]
    ratings: list[SatisfactionRating]
    transfers: int = 0
    bot_confirmed: int = 0
    bot_assumed: int = 0
    conversations: int = 0


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _median(values: Iterable[float | None]) -> float | None:
    present = [value for value in values if value is not None]
    return round(statistics.median(present), 1) if present else None


def _moved_up_for_waiting(source: ReportSource) -> set[str]:
    """Conversations a tier-3 ticket took over because tier 2 waited too long."""
    return {ticket.conversation_id for ticket in source.tickets if ticket.reason == EscalationReason.WAIT_LIMIT}


@dataclass(frozen=True)
class _Measure:
    """What a wait is measured against: the limits, the time now, the conversations moved up for waiting."""

    limits: Limits
    now: datetime
    moved_up: set[str]

    @classmethod
    def of(cls, source: ReportSource, limits: Limits, now: datetime) -> _Measure:
        """The measure of a report over `source`."""
        return cls(limits, now, _moved_up_for_waiting(source))

    def breached(self, ticket: Ticket) -> bool:
        """The ticket waited longer than its tier's limit (claimed late, still waiting, or moved up for it)."""
        limit = self.limits.for_tier(ticket.tier)
        if ticket.assigned_at is not None:
            return ticket.assigned_at - ticket.enqueued_at > limit
        if ticket.status in LIVE_TICKET_STATUSES:
            return self.now - ticket.enqueued_at > limit
        return ticket.tier == Tier.ONLINE and ticket.conversation_id in self.moved_up


def _row(key: str, label: str, group: _Group, measure: _Measure) -> ReportRow:
    tickets, ratings = group.tickets, group.ratings
    counts = [0, 0, 0, 0, 0]
    for rating in ratings:
        counts[rating.score - 1] += 1
    return ReportRow(
        key=key,
        label=label,
        volume=group.conversations + len(tickets),
        bot_confirmed=group.bot_confirmed,
        bot_assumed=group.bot_assumed,
        first_response_seconds=_median(_seconds(t.enqueued_at, t.first_response_at) for t in tickets),
        wait_seconds=_median(_seconds(t.enqueued_at, t.assigned_at) for t in tickets),
        handle_seconds=_median(_seconds(t.assigned_at, t.resolved_at) for t in tickets),
        sla_breaches=sum(1 for t in tickets if measure.breached(t)),
        transfers=group.transfers,
        ratings=len(ratings),
        average_rating=round(sum(r.score for r in ratings) / len(ratings), 2) if ratings else None,
        rating_counts=(counts[0], counts[1], counts[2], counts[3], counts[4]),
    )


def _bot_group(source: ReportSource) -> _Group:
    escalated = {ticket.conversation_id for ticket in source.tickets}
    with_feedback = {entry.conversation_id for entry in source.feedback}
    ended_with_bot = {ConversationState.BOT, ConversationState.CLOSED}
    assumed = sum(
        1
        for c in source.conversations
        if c.tier == Tier.BOT and c.state in ended_with_bot and c.id not in escalated and c.id not in with_feedback
    )
    confirmed = sum(1 for entry in source.feedback if entry.tier == Tier.BOT and entry.resolved)
    return _Group(
        tickets=[],
        ratings=[r for r in source.ratings if r.tier == Tier.BOT],
        bot_confirmed=confirmed,
        bot_assumed=assumed,
        conversations=len(source.conversations),
    )


def by_tier(source: ReportSource, limits: Limits, now: datetime) -> list[ReportRow]:
    """One row per tier: the bot's conversations and resolutions, then each tier's tickets."""
    measure = _Measure.of(source, limits, now)
    rows = [_row("1", TIER_LABELS[Tier.BOT], _bot_group(source), measure)]
    for tier in (Tier.ONLINE, Tier.RESPONDER):
        group = _Group(
            tickets=[t for t in source.tickets if t.tier == tier],
            ratings=[r for r in source.ratings if r.tier == tier],
            transfers=len(source.transfers) if tier == Tier.ONLINE else 0,  # only tier 2 transfers
        )
        rows.append(_row(str(int(tier)), TIER_LABELS[tier], group, measure))
    return rows


def by_queue(source: ReportSource, limits: Limits, now: datetime) -> list[ReportRow]:
    """One row per tier-2 queue (the queue a ticket ended in; transfers counted there)."""
    measure = _Measure.of(source, limits, now)
    queue_of = {t.conversation_id: t.queue.value for t in source.tickets if t.queue is not None}
    rows = []
    for queue, label in QUEUE_LABELS.items():
        group = _Group(
            tickets=[t for t in source.tickets if t.queue is not None and t.queue.value == queue],
            ratings=[r for r in source.ratings if r.queue is not None and r.queue.value == queue],
            transfers=sum(1 for move in source.transfers if queue_of.get(move.conversation_id) == queue),
        )
        rows.append(_row(queue, label, group, measure))
    return rows


def by_agent(source: ReportSource, limits: Limits, now: datetime, names: dict[str, str]) -> list[ReportRow]:
    """One row per staff member who held a ticket, was rated or transferred (by the name in `names`)."""
    measure = _Measure.of(source, limits, now)
    tickets: defaultdict[str, list[Ticket]] = defaultdict(list)
    ratings: defaultdict[str, list[SatisfactionRating]] = defaultdict(list)
    transfers: defaultdict[str, int] = defaultdict(int)
    for ticket in source.tickets:
        if ticket.assigned_to:
            tickets[ticket.assigned_to].append(ticket)
    for rating in source.ratings:
        if rating.staff_id:
            ratings[rating.staff_id].append(rating)
    for move in source.transfers:
        transfers[move.actor] += 1
    staff_ids = sorted(set(tickets) | set(ratings) | {actor for actor in transfers if actor in names})
    return [
        _row(
            staff_id,
            names.get(staff_id, staff_id),
            _Group(tickets[staff_id], ratings[staff_id], transfers.get(staff_id, 0)),
            measure,
        )
        for staff_id in staff_ids
    ]
