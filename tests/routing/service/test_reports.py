"""Reports over local date ranges and satisfaction ratings, through the routing service (fake and SQL record)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from routing import sql_tables as t
from routing.audit import AuditAction
from routing.errors import AlreadyRated, NotFound, ValidationFailed
from routing.models import Channel, EscalationReason, QueueName, Tier
from routing.reports import ReportBy
from routing.sql_record import SqlRecord
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import World

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
DAY = date(2026, 3, 2)


async def a_day(world: World) -> None:
    """A confirmed and an assumed bot answer, an advisor's resolved and rated question, a client waiting too long."""
    service = world.service
    world.clock.set(datetime(2026, 3, 1, 15, 50, tzinfo=UTC))  # 23:50 the day before, in Shanghai
    await service.start_conversation("c-orphan", Channel.API)
    world.clock.set(T0)
    confirmed = await service.start_conversation("c-gold", Channel.WIDGET)
    await service.client_feedback(confirmed.id, True)
    await service.rate(confirmed.id, 5)
    await service.start_conversation("c-vip", Channel.WECOM)  # stays with the bot: assumed resolved
    await world.online("adv1")
    asked = await service.start_conversation("c-std", Channel.WIDGET)
    held = await service.escalate_from_bot(asked.id, EscalationReason.LOW_SCORE, QueueName.ADVISOR, "这只股票能买吗")
    assert held.assignee_id == "adv1"
    waiting = await service.start_conversation("c-other", Channel.WIDGET)
    queued = await service.escalate_from_bot(waiting.id, EscalationReason.ASKED_HUMAN, QueueName.ADVISOR, "转人工")
    assert queued.assignee_id is None  # adv1 serves one client at a time
    world.clock.advance(40)
    await service.staff_reply("adv1", held.id, "您好，我来看一下")
    world.clock.advance(400)  # the second client waits past the 300 s wait limit
    await service.resolve("adv1", held.id)
    await service.client_feedback(held.id, True)
    await service.rate(held.id, 4)


async def test_report_per_tier(world: World) -> None:
    await a_day(world)
    bot, online, responder = (await world.service.figures.report("admin", DAY, DAY, ReportBy.TIER)).rows
    assert (bot.volume, bot.bot_confirmed, bot.bot_assumed, bot.average_rating) == (4, 1, 1, 5.0)
    assert (online.volume, online.wait_seconds, online.first_response_seconds, online.handle_seconds) == (
        2,
        0.0,
        40.0,
        440.0,
    )
    assert (online.sla_breaches, online.ratings, online.average_rating) == (1, 1, 4.0)
    assert responder.volume == 0


async def test_report_per_queue_and_agent(world: World) -> None:
    await a_day(world)
    advisor, service = (await world.service.figures.report("admin", DAY, DAY, ReportBy.QUEUE)).rows
    assert (advisor.volume, advisor.sla_breaches, advisor.average_rating) == (2, 1, 4.0)
    assert (service.volume, service.sla_breaches, service.average_rating) == (0, 0, None)
    (adv1,) = (await world.service.figures.report("admin", DAY, DAY, ReportBy.AGENT)).rows
    assert (adv1.key, adv1.label, adv1.volume, adv1.ratings, adv1.rating_counts) == (
        "adv1",
        "陈顾问",
        1,
        1,
        (0, 0, 0, 1, 0),
    )


async def test_ranges_are_local_days(world: World) -> None:
    await a_day(world)
    before = await world.service.figures.report("admin", date(2026, 3, 1), date(2026, 3, 1), ReportBy.TIER)
    assert before.rows[0].volume == 1  # 23:50 in Shanghai on 1 March
    both = await world.service.figures.report("admin", date(2026, 3, 1), DAY, ReportBy.TIER)
    assert (both.first, both.last, both.rows[0].volume) == (date(2026, 3, 1), DAY, 5)
    with pytest.raises(ValidationFailed, match="at most 366 days"):
        await world.service.figures.report("admin", date(2025, 1, 1), DAY, ReportBy.TIER)
    with pytest.raises(ValidationFailed, match="before it starts"):
        await world.service.figures.report("admin", DAY, date(2026, 3, 1), ReportBy.TIER)


async def test_a_rating_needs_a_resolution_and_comes_once(world: World) -> None:
    service = world.service
    world.clock.set(T0)
    conversation = await service.start_conversation("c-gold", Channel.WIDGET)
    with pytest.raises(ValidationFailed, match="no resolved question"):
        await service.rate(conversation.id, 5)
    await service.client_feedback(conversation.id, True)
    for score in (0, 6):
        with pytest.raises(ValidationFailed, match="1 to 5"):
            await service.rate(conversation.id, score)
    rating = await service.rate(conversation.id, 3, Channel.WECOM)
    assert (rating.score, rating.tier, rating.channel, rating.staff_id) == (3, Tier.BOT, Channel.WECOM, None)
    with pytest.raises(AlreadyRated):
        await service.rate(conversation.id, 4)
    with pytest.raises(NotFound):
        await service.rate("nobody", 4)
    audited = [entry for entry in await audit_entries(world) if entry[0] == AuditAction.RATING]
    assert audited == [(AuditAction.RATING, conversation.id, {"score": 3, "tier": 1, "staff_id": None})]


async def test_a_rating_closes_with_its_window(world: World) -> None:
    service = world.service
    world.clock.set(T0)
    conversation = await service.start_conversation("c-gold", Channel.WIDGET)
    await service.client_feedback(conversation.id, True)
    world.clock.advance(901)  # the window is 900 s by default
    with pytest.raises(ValidationFailed, match="has passed"):
        await service.rate(conversation.id, 5)
    await service.client_feedback(conversation.id, False)  # "not resolved" after it: nothing to rate
    with pytest.raises(ValidationFailed, match="no resolved question"):
        await service.rate(conversation.id, 5)


async def audit_entries(world: World) -> list[tuple[str, str, dict[str, object]]]:
    record = world.record
    if isinstance(record, FakeRecord):
        return [(entry.action, entry.subject, entry.detail) for entry in record.audit_log]
    assert isinstance(record, SqlRecord)
    async with record.engine.connect() as conn:
        rows = (await conn.execute(t.audit_log.select().order_by(t.audit_log.c.seq))).all()
    return [(row.action, row.subject, dict(row.detail)) for row in rows]
