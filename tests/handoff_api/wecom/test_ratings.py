"""WeCom satisfaction ratings: a text prompt after 问题已解答, a digit 1–5 within the window, hints otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handoff_api.wecom.client_text import ALREADY_RATED, RATING_HINT, RATING_PROMPT, RATING_THANKS, rating_score
from routing.memory import ManualClock
from routing.models import Channel, Tier
from routing.reports import ReportBy
from tests.handoff_api.wecom.stack import KNOWN_CLIENT_WECOM, Stack, build_stack, inbound, make_channel

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def stack(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Stack]:
    built = await build_stack(tmp_path, clock=clock)
    yield built
    await built.engine.dispose()


def notices(stack: Stack) -> list[str]:
    return [content for _, _, content in stack.sender.kf_texts]


def test_a_rating_is_a_bare_number() -> None:
    assert [rating_score(text) for text in ("4", " 5。", "「3」", "12", "4星", "四", "12345")] == [
        4,
        5,
        3,
        12,
        None,
        None,
        None,
    ]


async def test_a_digit_after_resolved_rates_once_and_other_numbers_get_a_hint(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("科创板门槛"))
    await channel.handle_text(inbound("解决了"))
    assert notices(stack)[-1] == RATING_PROMPT
    await channel.handle_text(inbound("9"))
    assert notices(stack)[-1] == RATING_HINT
    await channel.handle_text(inbound("4"))
    assert notices(stack)[-1] == RATING_THANKS
    await channel.handle_text(inbound("5"))
    assert notices(stack)[-1] == ALREADY_RATED
    assert [text for _, text in stack.bot.calls] == ["科创板门槛", "/feedback_resolved"]  # the digits never reach it

    today = NOW.date()
    (bot, *_) = (await stack.routing.report(today, today, ReportBy.TIER)).rows
    assert (bot.ratings, bot.average_rating, bot.rating_counts) == (1, 4.0, (0, 0, 0, 1, 0))
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    source = await stack.record.report_source(NOW.replace(hour=0), NOW.replace(hour=23))
    assert [(r.conversation_id, r.channel, r.tier) for r in source.ratings] == [
        (link.conversation_id, Channel.WECOM, Tier.BOT)
    ]


async def test_after_the_window_a_digit_is_an_ordinary_text(stack: Stack, clock: ManualClock) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("科创板门槛"))
    await channel.handle_text(inbound("解决了"))
    clock.advance(901)
    await channel.handle_text(inbound("3"))
    assert stack.bot.calls[-1][1] == "3"
    assert notices(stack)[-1] == RATING_PROMPT  # nothing more was said about ratings


async def test_no_prompt_without_a_resolution(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("科创板门槛"))
    await channel.handle_text(inbound("5"))
    assert RATING_PROMPT not in notices(stack)
    assert stack.bot.calls[-1][1] == "5"
