"""Supervisor reports, pure: rows per tier, queue and staff member from a ReportSource."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from routing.models import (
    Channel,
    Conversation,
    ConversationState,
    EscalationReason,
    QueueName,
    Ticket,
    TicketStatus,
    Tier,
    Transition,
)
from routing.records import FeedbackEntry, ReportSource, SatisfactionRating
from routing.reports import MAX_REPORT_DAYS, Limits, by_agent, by_queue, by_tier, check_range

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
LIMITS = Limits(tier2_wait=timedelta(seconds=300), responder_wait=timedelta(seconds=600))
NOW = T0 + timedelta(hours=2)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def conversation(
    conversation_id: str, tier: Tier = Tier.BOT, state: ConversationState = ConversationState.BOT
) -> Conversation:
    return Conversation(conversation_id, "k1", Channel.WIDGET, state, tier, T0, T0)


def ticket(  # noqa: PLR0917 - a test builder
    ticket_id: str,
    conversation_id: str,
    queue: QueueName | None = QueueName.ADVISOR,
    tier: Tier = Tier.ONLINE,
    staff: str | None = None,
    times: tuple[float | None, float | None, float | None] = (None, None, None),
    status: TicketStatus = TicketStatus.RESOLVED,
    reason: EscalationReason = EscalationReason.LOW_SCORE,
) -> Ticket:
    assigned, first, resolved = (None if seconds is None else at(seconds) for seconds in times)
    return Ticket(
        ticket_id,
        conversation_id,
        "k1",
        tier,
        reason,
        "问题",
        T0,
        queue=queue,
        status=status,
        assigned_to=staff,
        assigned_at=assigned,
        first_response_at=first,
        resolved_at=resolved,
    )


def rating(
    conversation_id: str, score: int, tier: Tier, staff: str | None, queue: QueueName | None
) -> SatisfactionRating:
    return SatisfactionRating(conversation_id, score, Channel.WIDGET, tier, staff, None, queue, at(100), at(120))


def transfer(conversation_id: str, actor: str) -> Transition:
    return Transition(
        conversation_id,
        "transfer_agent",
        ConversationState.WITH_AGENT,
        ConversationState.WITH_AGENT,
        actor,
        Tier.ONLINE,
        "to adv2",
        at(50),
    )


SOURCE = ReportSource(
    conversations=(
        conversation("bot-confirmed"),
        conversation("bot-assumed"),
        conversation("bot-closed", state=ConversationState.CLOSED),
        conversation("bot-rated-no"),
        conversation("c-adv", Tier.ONLINE, ConversationState.RESOLVED),
        conversation("c-svc", Tier.ONLINE, ConversationState.QUEUED),
        conversation("c-up", Tier.RESPONDER, ConversationState.WITH_RESPONDER),
    ),
    tickets=(
        ticket("t-adv", "c-adv", staff="adv1", times=(20, 50, 200)),
        ticket("t-svc", "c-svc", QueueName.SERVICE, status=TicketStatus.OPEN),  # waiting since T0: 2 hours
        ticket("t-up2", "c-up", status=TicketStatus.ESCALATED),  # never claimed, moved up for waiting
        ticket(
            "t-up3",
            "c-up",
            None,
            Tier.RESPONDER,
            "r1",
            (700, 760, None),
            TicketStatus.ASSIGNED,
            EscalationReason.WAIT_LIMIT,
        ),
    ),
    feedback=(
        FeedbackEntry("bot-confirmed", None, Tier.BOT, None, True, at(10)),
        FeedbackEntry("bot-rated-no", None, Tier.BOT, None, False, at(10)),
        FeedbackEntry("c-adv", "t-adv", Tier.ONLINE, "adv1", True, at(100)),
    ),
    transfers=(transfer("c-adv", "adv2"),),
    ratings=(
        rating("bot-confirmed", 5, Tier.BOT, None, None),
        rating("c-adv", 4, Tier.ONLINE, "adv1", QueueName.ADVISOR),
        rating("c-adv2", 2, Tier.ONLINE, "adv1", QueueName.ADVISOR),
    ),
)


def test_rows_per_tier() -> None:
    bot, online, responder = by_tier(SOURCE, LIMITS, NOW)
    assert (bot.key, bot.label, bot.volume, bot.bot_confirmed, bot.bot_assumed) == ("1", "智能投顾机器人", 7, 1, 2)
    assert (bot.ratings, bot.average_rating, bot.rating_counts) == (1, 5.0, (0, 0, 0, 0, 1))
    assert (online.volume, online.wait_seconds, online.first_response_seconds, online.handle_seconds) == (
        3,
        20.0,
        50.0,
        180.0,
    )
    assert (online.sla_breaches, online.transfers, online.ratings, online.average_rating) == (2, 1, 2, 3.0)
    assert online.rating_counts == (0, 1, 0, 1, 0)
    assert (responder.volume, responder.wait_seconds, responder.sla_breaches, responder.transfers) == (1, 700.0, 1, 0)
    assert responder.handle_seconds is None and responder.average_rating is None


def test_rows_per_queue_count_transfers_where_the_ticket_is() -> None:
    advisor, service = by_queue(SOURCE, LIMITS, NOW)
    assert (advisor.key, advisor.label, advisor.volume, advisor.transfers, advisor.sla_breaches) == (
        "advisor",
        "在线投顾",
        2,
        1,
        1,
    )
    assert (advisor.ratings, advisor.average_rating) == (2, 3.0)
    assert (service.key, service.volume, service.sla_breaches, service.wait_seconds) == ("service", 1, 1, None)
    assert (advisor.bot_confirmed, advisor.bot_assumed) == (0, 0)


def test_rows_per_agent_by_name() -> None:
    rows = by_agent(SOURCE, LIMITS, NOW, {"adv1": "陈顾问", "adv2": "周顾问", "r1": "孙经理"})
    assert [(row.key, row.label) for row in rows] == [("adv1", "陈顾问"), ("adv2", "周顾问"), ("r1", "孙经理")]
    adv1, adv2, r1 = rows
    assert (adv1.volume, adv1.handle_seconds, adv1.ratings, adv1.average_rating, adv1.transfers) == (
        1,
        180.0,
        2,
        3.0,
        0,
    )
    assert (adv2.volume, adv2.transfers, adv2.ratings) == (0, 1, 0)
    assert (r1.volume, r1.first_response_seconds, r1.sla_breaches) == (1, 760.0, 1)


def test_an_unknown_staff_id_is_shown_as_itself() -> None:
    source = ReportSource((), (ticket("t", "c", staff="gone", times=(1, 2, 3)),), (), (), ())
    assert [(row.key, row.label) for row in by_agent(source, LIMITS, NOW, {})] == [("gone", "gone")]


def test_an_empty_range_has_rows_without_figures() -> None:
    empty = ReportSource((), (), (), (), ())
    rows = by_tier(empty, LIMITS, NOW)
    assert [(row.volume, row.wait_seconds, row.average_rating) for row in rows] == [(0, None, None)] * 3
    assert by_agent(empty, LIMITS, NOW, {"adv1": "陈顾问"}) == []


def test_a_claim_just_within_the_limit_is_no_breach() -> None:
    on_time = ticket("t", "c", staff="adv1", times=(300, 310, 400))
    late = ticket("u", "d", staff="adv1", times=(301, 310, 400))
    source = ReportSource((), (on_time, late), (), (), ())
    assert by_tier(source, LIMITS, NOW)[1].sla_breaches == 1


def test_ranges() -> None:
    check_range(date(2026, 3, 2), date(2026, 3, 2))
    check_range(date(2025, 1, 1), date(2025, 1, 1) + timedelta(days=MAX_REPORT_DAYS - 1))
    with pytest.raises(ValueError, match="before it starts"):
        check_range(date(2026, 3, 2), date(2026, 3, 1))
    with pytest.raises(ValueError, match="at most 366 days"):
        check_range(date(2025, 1, 1), date(2026, 1, 2))
