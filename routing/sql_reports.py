"""The record's reporting side in SQL: satisfaction ratings, the latest feedback, the day's activity and a
report's source rows, of the whole firm or of one branch's clients.

`SqlReports` is a mixin of routing.sql_record.SqlRecord (it uses the record's engine and reader).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, func, insert, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from routing import sql_rows
from routing import sql_tables as t
from routing.errors import AlreadyRated
from routing.models import Channel, QueueName, Tier
from routing.records import Activity, FeedbackEntry, ReportSource, SatisfactionRating
from routing.state_machine import TransitionName

TRANSFERS = (TransitionName.TRANSFER_QUEUE.value, TransitionName.TRANSFER_AGENT.value)


def of_clients_in(client_id: ColumnElement[Any], branch: str | None) -> ColumnElement[bool]:
    """`client_id` names a client of `branch` (always true without a branch)."""
    if branch is None:
        return true()
    return client_id.in_(select(t.clients.c.id).where(t.clients.c.branch == branch))


def of_conversations_in(conversation_id: ColumnElement[Any], branch: str | None) -> ColumnElement[bool]:
    """`conversation_id` names a conversation of a client of `branch` (always true without a branch)."""
    if branch is None:
        return true()
    conversations = t.conversations.c
    return conversation_id.in_(select(conversations.id).where(of_clients_in(conversations.client_id, branch)))


def _tickets_enqueued(start: datetime, end: datetime, branch: str | None) -> Any:
    """Tickets enqueued in [start, end), of `branch`'s clients when given, oldest first."""
    tickets = t.tickets.c
    return (
        select(t.tickets)
        .where(tickets.enqueued_at >= start, tickets.enqueued_at < end, of_clients_in(tickets.client_id, branch))
        .order_by(tickets.enqueued_at, tickets.id)
    )


def feedback_from_row(row: Row[Any]) -> FeedbackEntry:
    """A feedback row as the record's value."""
    return FeedbackEntry(row.conversation_id, row.ticket_id, Tier(row.tier), row.staff_id, bool(row.resolved), row.at)


def rating_from_row(row: Row[Any]) -> SatisfactionRating:
    """A satisfaction_ratings row as the record's value."""
    return SatisfactionRating(
        conversation_id=row.conversation_id,
        score=int(row.score),
        channel=Channel(row.channel),
        tier=Tier(row.tier),
        staff_id=row.staff_id,
        ticket_id=row.ticket_id,
        queue=QueueName(row.queue) if row.queue else None,
        resolved_at=row.resolved_at,
        at=row.at,
    )


def rating_to_row(rating: SatisfactionRating) -> dict[str, Any]:
    """The row of a satisfaction rating."""
    return {
        "conversation_id": rating.conversation_id,
        "score": rating.score,
        "channel": rating.channel.value,
        "tier": int(rating.tier),
        "staff_id": rating.staff_id,
        "ticket_id": rating.ticket_id,
        "queue": rating.queue.value if rating.queue else None,
        "resolved_at": rating.resolved_at,
        "at": rating.at,
    }


async def _rows(conn: AsyncConnection, statement: Any) -> list[Row[Any]]:
    return list((await conn.execute(statement)).all())


class SqlReports:
    """Record methods for ratings and reports (mixed into SqlRecord)."""

    _engine: AsyncEngine
    _reader: AsyncEngine

    async def last_feedback(self, conversation_id: str) -> FeedbackEntry | None:
        async with self._reader.connect() as conn:
            row = (
                await conn.execute(
                    select(t.feedback)
                    .where(t.feedback.c.conversation_id == conversation_id)
                    .order_by(t.feedback.c.at.desc(), t.feedback.c.id.desc())
                    .limit(1)
                )
            ).first()
        return feedback_from_row(row) if row is not None else None

    async def add_rating(self, rating: SatisfactionRating) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(t.satisfaction_ratings).values(rating_to_row(rating)))
        except IntegrityError as error:
            message = str(error.orig).lower()
            if "unique" not in message and "duplicate" not in message:
                raise
            raise AlreadyRated(f"conversation {rating.conversation_id} is already rated for this resolution") from error

    async def activity_between(self, start: datetime, end: datetime, branch: str | None = None) -> Activity:
        conversations, feedback = t.conversations.c, t.feedback.c
        async with self._reader.connect() as conn:
            started = await conn.scalar(
                select(func.count())
                .select_from(t.conversations)
                .where(
                    conversations.created_at >= start,
                    conversations.created_at < end,
                    of_clients_in(conversations.client_id, branch),
                )
            )
            bot_resolved = await conn.scalar(
                select(func.count())
                .select_from(t.feedback)
                .where(
                    feedback.at >= start,
                    feedback.at < end,
                    feedback.tier == int(Tier.BOT),
                    feedback.resolved.is_(True),
                    of_conversations_in(feedback.conversation_id, branch),
                )
            )
            opened = await _rows(conn, _tickets_enqueued(start, end, branch))
        return Activity(
            int(started or 0), int(bot_resolved or 0), tuple(sql_rows.ticket_from_row(row) for row in opened)
        )

    async def report_source(self, start: datetime, end: datetime, branch: str | None = None) -> ReportSource:
        conversations = t.conversations.c
        feedback, transitions, ratings = t.feedback.c, t.transitions.c, t.satisfaction_ratings.c
        async with self._reader.connect() as conn:
            started = await _rows(
                conn,
                select(t.conversations)
                .where(
                    conversations.created_at >= start,
                    conversations.created_at < end,
                    of_clients_in(conversations.client_id, branch),
                )
                .order_by(conversations.created_at, conversations.id),
            )
            enqueued = await _rows(conn, _tickets_enqueued(start, end, branch))
            given = await _rows(
                conn,
                select(t.feedback)
                .where(feedback.at >= start, feedback.at < end, of_conversations_in(feedback.conversation_id, branch))
                .order_by(feedback.at, feedback.id),
            )
            moved = await _rows(
                conn,
                select(t.transitions)
                .where(
                    transitions.at >= start,
                    transitions.at < end,
                    transitions.name.in_(TRANSFERS),
                    of_conversations_in(transitions.conversation_id, branch),
                )
                .order_by(transitions.at, transitions.id),
            )
            rated = await _rows(
                conn,
                select(t.satisfaction_ratings)
                .where(ratings.at >= start, ratings.at < end, of_conversations_in(ratings.conversation_id, branch))
                .order_by(ratings.at, ratings.id),
            )
        return ReportSource(
            conversations=tuple(sql_rows.conversation_from_row(row) for row in started),
            tickets=tuple(sql_rows.ticket_from_row(row) for row in enqueued),
            feedback=tuple(feedback_from_row(row) for row in given),
            transfers=tuple(sql_rows.transition_from_row(row) for row in moved),
            ratings=tuple(rating_from_row(row) for row in rated),
        )
