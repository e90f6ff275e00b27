"""WeCom satisfaction ratings: a text prompt after 问题已解答, a digit 1–5 within the window, hints otherwise."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from handoff_api.wecom.client_text import ALREADY_RATED, RATING_HINT, RATING_PROMPT, RATING_THANKS, rating_score
from handoff_api.wecom.replies import render_for_wecom
from routing.memory import ManualClock
from routing.models import Channel, ConversationState, Presence, Tier
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
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    thanks = (await stack.record.latest_messages(link.conversation_id, 1))[0]
    rendered = render_for_wecom(thanks.sender, thanks.text, thanks.payload)
    assert rendered is not None and rendered.endswith(RATING_PROMPT)  # the prompt rides on the bot's thanks
    assert notices(stack) == []
    await channel.handle_text(inbound("9"))
    assert notices(stack)[-1] == RATING_HINT
    await channel.handle_text(inbound("4"))
    assert notices(stack)[-1] == RATING_THANKS
    await channel.handle_text(inbound("5"))
    assert notices(stack)[-1] == ALREADY_RATED
    assert [text for _, text in stack.bot.calls] == ["科创板门槛", "/feedback_resolved"]  # the digits never reach it

    today = NOW.date()
    (bot, *_) = (await stack.routing.figures.report("admin", today, today, ReportBy.TIER)).rows
    assert (bot.ratings, bot.average_rating, bot.rating_counts) == (1, 4.0, (0, 0, 0, 1, 0))
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
    assert notices(stack) == []  # nothing was said about ratings


async def test_no_prompt_without_a_resolution(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("科创板门槛"))
    await channel.handle_text(inbound("5"))
    assert RATING_PROMPT not in notices(stack)
    assert stack.bot.calls[-1][1] == "5"


async def test_a_person_s_resolution_gets_the_prompt_as_a_notice_and_the_rating_names_them(stack: Stack) -> None:
    channel = make_channel(stack)
    await stack.routing.set_presence("adv01", Presence.ONLINE)
    await channel.handle_text(inbound("能推荐一只股票吗"))
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    held = await stack.routing.get_conversation(link.conversation_id)
    assert (held.state, held.assignee_id) == (ConversationState.WITH_AGENT, "adv01")
    await stack.routing.staff_reply("adv01", held.id, "您好，这类问题需要先做风险测评。")
    await stack.routing.resolve("adv01", held.id)
    await channel.handle_text(inbound("解决了"))
    assert notices(stack) == [RATING_PROMPT]
    await channel.handle_text(inbound("5"))
    assert notices(stack)[-1] == RATING_THANKS
    source = await stack.record.report_source(NOW.replace(hour=0), NOW.replace(hour=23))
    assert [(r.score, r.tier, r.staff_id) for r in source.ratings] == [(5, Tier.ONLINE, "adv01")]
