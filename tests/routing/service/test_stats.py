"""The day's figures: pure summary of the record's activity, days counted in the routing settings' time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from routing.models import Channel, EscalationReason, QueueName, Ticket, Tier
from routing.records import Activity
from routing.service.stats import DayStats, UnresolvedQuestion, day_bounds, summarize_day
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import SETTINGS, World, build_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def ticket(  # noqa: PLR0917
    ticket_id: str,
    reason: EscalationReason,
    question: str,
    tier: Tier = Tier.ONLINE,
    assigned_after: float | None = None,
    first_response_after: float | None = None,
    resolved_after: float | None = None,
) -> Ticket:
    """A ticket enqueued at T0, with its other times as seconds after that."""

    def after(seconds: float | None) -> datetime | None:
        return None if seconds is None else T0 + timedelta(seconds=seconds)

    return Ticket(
        ticket_id,
        "c1",
        "k1",
        tier,
        reason,
        question,
        T0,
        assigned_at=after(assigned_after),
        first_response_at=after(first_response_after),
        resolved_at=after(resolved_after),
    )


def test_the_day_is_the_zones_calendar_day() -> None:
    late_utc = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March in Shanghai
    start, end = day_bounds(late_utc, SHANGHAI)
    assert (start, end - start) == (datetime(2026, 3, 2, tzinfo=SHANGHAI), timedelta(days=1))
    assert day_bounds(late_utc, UTC)[0] == datetime(2026, 3, 1, tzinfo=UTC)


def test_no_activity() -> None:
    assert summarize_day(date(2026, 3, 2), Activity(0, 0, ())) == DayStats(
        date(2026, 3, 2), 0, {Tier.BOT: 0, Tier.ONLINE: 0, Tier.RESPONDER: 0}, 0, None, None, None, ()
    )


def test_figures_from_tickets_and_ratings() -> None:
    tickets = (
        ticket(
            "t1", EscalationReason.LOW_SCORE, " 开户 ", assigned_after=10, first_response_after=40, resolved_after=90
        ),
        ticket("t2", EscalationReason.ASKED_HUMAN, "开户", assigned_after=30),
        ticket("t3", EscalationReason.WAIT_LIMIT, "不算", Tier.RESPONDER, resolved_after=0),
        ticket("t4", EscalationReason.ADVICE_REQUEST, "也不算"),  # the bot must not advise: not a miss
        ticket("t5", EscalationReason.OFF_HOURS, ""),  # no question to show
    )
    stats = summarize_day(date(2026, 3, 2), Activity(conversations=9, bot_resolved=3, tickets=tickets))
    assert stats.resolved_by_tier == {Tier.BOT: 3, Tier.ONLINE: 1, Tier.RESPONDER: 1}
    assert (stats.conversations, stats.escalated_from_bot, stats.bot_resolution_rate) == (9, 5, 0.375)
    assert (stats.median_first_response_seconds, stats.median_wait_seconds) == (40.0, 20.0)
    assert stats.top_unresolved == (UnresolvedQuestion("开户", 2),)


async def a_day(world: World) -> None:
    """Yesterday evening in Shanghai, then today: a rated bot answer, an answered and a waiting escalation."""
    service = world.service
    world.clock.set(datetime(2026, 3, 1, 15, 50, tzinfo=UTC))  # 23:50 the day before, in Shanghai
    await service.rate_bot_answer((await service.start_conversation("c-gold", Channel.WIDGET)).id, True)
    world.clock.set(datetime(2026, 3, 1, 16, 10, tzinfo=UTC))  # 00:10 today
    await service.rate_bot_answer((await service.start_conversation("c-gold", Channel.API)).id, True)
    world.clock.set(T0)
    await world.online("adv1")
    for client in ("c-std", "c-other"):
        conversation = await service.start_conversation(client, Channel.WIDGET)
        escalated = await service.escalate_from_bot(
            conversation.id, EscalationReason.LOW_SCORE, QueueName.ADVISOR, "这只股票能买吗"
        )
        world.clock.advance(30)
        if escalated.assignee_id:
            await service.staff_reply(escalated.assignee_id, escalated.id, "您好")
            await service.resolve(escalated.assignee_id, escalated.id)


async def test_today_stats_counts_the_branch_day(world: World) -> None:
    await a_day(world)
    stats = await world.service.figures.today("admin")
    assert stats.day == date(2026, 3, 2)
    assert stats.conversations == 3  # the one started before midnight is yesterday's
    assert stats.resolved_by_tier == {Tier.BOT: 1, Tier.ONLINE: 2, Tier.RESPONDER: 0}
    assert (stats.escalated_from_bot, stats.bot_resolution_rate) == (2, round(1 / 3, 4))
    assert (stats.median_first_response_seconds, stats.median_wait_seconds) == (30.0, 0.0)
    assert stats.top_unresolved == (UnresolvedQuestion("这只股票能买吗", 2),)


async def test_today_stats_follows_the_routing_time_zone() -> None:
    utc_branch = SETTINGS.model_copy(update={"timezone": "UTC"})
    world = await build_world(FakeRecord(), utc_branch)
    await a_day(world)
    stats = await world.service.figures.today("admin", datetime(2026, 3, 1, 23, 0, tzinfo=UTC))
    assert (stats.day, stats.conversations, stats.resolved_by_tier[Tier.BOT]) == (date(2026, 3, 1), 2, 2)
