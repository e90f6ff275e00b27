"""Today's figures per tier for the supervisor view, read from the SQL record."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from routing import sql_tables as t

BRANCH_TIMEZONE = ZoneInfo("Asia/Shanghai")
TOP_UNRESOLVED = 10
BOT_GAVE_UP = ("low_score", "client_unresolved", "asked_human", "kb_unavailable", "no_staff_online", "off_hours")
"""Ticket reasons of bot escalations (routing stores off_hours/no_staff_online when tier 2 was closed)."""


class UnresolvedQuestion(BaseModel):
    """A question the bot could not resolve, and how often it came today."""

    question: str
    count: int


class TodayStats(BaseModel):
    """The supervisor's figures for one day (branch time)."""

    day: str
    conversations: int
    resolved_by_tier: dict[str, int]
    escalated_from_bot: int
    bot_resolution_rate: float | None
    median_first_response_seconds: float | None
    median_wait_seconds: float | None
    top_unresolved: list[UnresolvedQuestion]


def day_bounds(now: datetime) -> tuple[datetime, datetime]:
    """Start and end of the branch's calendar day containing `now`."""
    local = now.astimezone(BRANCH_TIMEZONE)
    start = datetime.combine(local.date(), time.min, BRANCH_TIMEZONE)
    return start, start + timedelta(days=1)


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


async def today_stats(engine: AsyncEngine, now: datetime) -> TodayStats:
    """Conversations, resolutions per tier, bot resolution rate, median first response and wait, top misses."""
    start, end = day_bounds(now)
    async with engine.connect() as conn:
        conversations = (
            await conn.execute(
                select(func.count())
                .select_from(t.conversations)
                .where(and_(t.conversations.c.created_at >= start, t.conversations.c.created_at < end))
            )
        ).scalar_one()
        bot_resolved = (
            await conn.execute(
                select(func.count())
                .select_from(t.feedback)
                .where(
                    and_(
                        t.feedback.c.at >= start,
                        t.feedback.c.at < end,
                        t.feedback.c.tier == 1,
                        t.feedback.c.resolved.is_(True),
                    )
                )
            )
        ).scalar_one()
        ticket_rows = (
            await conn.execute(
                select(
                    t.tickets.c.tier,
                    t.tickets.c.reason,
                    t.tickets.c.question,
                    t.tickets.c.status,
                    t.tickets.c.enqueued_at,
                    t.tickets.c.assigned_at,
                    t.tickets.c.first_response_at,
                    t.tickets.c.resolved_at,
                ).where(and_(t.tickets.c.enqueued_at >= start, t.tickets.c.enqueued_at < end))
            )
        ).all()
    resolved_by_tier = {"1": int(bot_resolved), "2": 0, "3": 0}
    first_responses: list[float] = []
    waits: list[float] = []
    misses: Counter[str] = Counter()
    for row in ticket_rows:
        if row.resolved_at is not None and str(row.tier) in resolved_by_tier:
            resolved_by_tier[str(row.tier)] += 1
        if row.first_response_at is not None:
            first_responses.append((row.first_response_at - row.enqueued_at).total_seconds())
        if row.assigned_at is not None:
            waits.append((row.assigned_at - row.enqueued_at).total_seconds())
        if row.reason in BOT_GAVE_UP and row.question:
            misses[row.question.strip()] += 1
    escalated = len(ticket_rows)
    asked = bot_resolved + escalated
    return TodayStats(
        day=start.date().isoformat(),
        conversations=int(conversations),
        resolved_by_tier=resolved_by_tier,
        escalated_from_bot=escalated,
        bot_resolution_rate=round(bot_resolved / asked, 4) if asked else None,
        median_first_response_seconds=_median(first_responses),
        median_wait_seconds=_median(waits),
        top_unresolved=[UnresolvedQuestion(question=q, count=n) for q, n in misses.most_common(TOP_UNRESOLVED)],
    )
