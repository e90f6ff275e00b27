"""A supervisor's figures are those of the branch they oversee: an admin's the whole firm's, a duty manager's
their own branch's clients'; anyone else is refused. Runs on the fake record and on SQLite."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from routing.errors import Forbidden
from routing.models import Channel, EscalationReason, QueueName
from routing.reports import ReportBy
from tests.routing.service_world import World, add_other_branch

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)


async def two_branches_day(world: World) -> None:
    """In sh01: a bot answer rated resolved and an escalation; in bj01: one escalation."""
    await add_other_branch(world)
    world.clock.set(T0)
    service = world.service
    await service.rate_bot_answer((await service.start_conversation("c-gold", Channel.WIDGET)).id, True)
    for client in ("c-std", "c-bj"):
        conversation = await service.start_conversation(client, Channel.WIDGET)
        await service.escalate_from_bot(
            conversation.id, EscalationReason.LOW_SCORE, QueueName.SERVICE, f"{client}的问题"
        )


async def test_a_duty_manager_sees_the_figures_of_their_branch_and_an_admin_the_firm(world: World) -> None:
    await two_branches_day(world)
    firm = await world.service.figures.today("admin", T0)
    shanghai = await world.service.figures.today("dm", T0)
    beijing = await world.service.figures.today("dm-bj", T0)
    assert (firm.conversations, firm.escalated_from_bot) == (3, 2)
    assert (shanghai.conversations, shanghai.escalated_from_bot, shanghai.bot_resolution_rate) == (2, 1, 0.5)
    assert (beijing.conversations, beijing.escalated_from_bot, beijing.bot_resolution_rate) == (1, 1, 0.0)
    assert [q.question for q in beijing.top_unresolved] == ["c-bj的问题"]


async def test_reports_are_scoped_the_same_way(world: World) -> None:
    await two_branches_day(world)

    async def volumes(viewer: str) -> tuple[int, int]:
        bot, online, responder = (await world.service.figures.report(viewer, DAY, DAY, ReportBy.TIER)).rows
        return bot.volume, online.volume + responder.volume

    assert await volumes("admin") == (3, 2)
    assert await volumes("dm") == (2, 1)
    assert await volumes("dm-bj") == (1, 1)


@pytest.mark.parametrize("viewer", ["adv1", "svc1", "r1"])
async def test_staff_who_supervise_no_one_see_no_figures(world: World, viewer: str) -> None:
    with pytest.raises(Forbidden):
        await world.service.figures.today(viewer)
    with pytest.raises(Forbidden):
        await world.service.figures.report(viewer, DAY, DAY, ReportBy.TIER)
