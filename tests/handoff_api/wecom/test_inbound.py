"""The WeCom inbound handler over the real stack: identities to clients (or guests), conversations, translation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from handoff_api.wecom.client_text import FEEDBACK_UNRESOLVED
from handoff_api.wecom.identity import IdentityKind
from handoff_api.wecom.inbound import GUEST_REFUSED_NOTICE, TOO_LONG_NOTICE, guest_client_id
from routing.memory import ManualClock
from routing.models import Channel, ConversationState, Presence, Role
from routing.models import SenderKind as MessageSender
from routing.sql_tables import audit_log
from tests.handoff_api.wecom.stack import (
    KF_ACCOUNT,
    KNOWN_CLIENT_WECOM,
    SUGGESTED,
    RecordingStaffMessages,
    Stack,
    build_stack,
    inbound,
    make_channel,
    transcript,
)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    built = await build_stack(tmp_path)
    yield built
    await built.engine.dispose()


def test_guest_ids_are_stable_and_distinct() -> None:
    first = guest_client_id("wmGuestAAAA")
    assert first == guest_client_id("wmGuestAAAA")
    assert first.startswith("guest-") and len(first) == len("guest-") + 16
    assert first != guest_client_id("wmGuestAAAB")


async def test_a_known_client_gets_one_wecom_conversation_reused_until_closed(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("科创板门槛"))
    await channel.handle_text(inbound("你好"))
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    conversation = await stack.routing.get_conversation(link.conversation_id)
    assert (conversation.client_id, conversation.channel) == ("C10001", Channel.WECOM)
    assert (link.kind, link.open_kfid) == ("kf", KF_ACCOUNT)
    senders = [m.sender for m in await transcript(stack, conversation.id)]
    assert senders == [MessageSender.CLIENT, MessageSender.BOT, MessageSender.CLIENT, MessageSender.BOT]
    assert [text for _, text in stack.bot.calls] == ["科创板门槛", "你好"]

    await stack.routing.close(None, conversation.id)
    await channel.handle_text(inbound("科创板门槛"))
    links = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    assert len(links) == 2 and links[1].conversation_id == conversation.id
    assert (await stack.routing.get_conversation(links[0].conversation_id)).state == ConversationState.BOT


async def test_an_unknown_user_becomes_one_guest_whose_questions_reach_the_bot(stack: Stack) -> None:
    channel = make_channel(stack, guest_branch="上海浦东营业部")
    stranger = "wmStrangerXXXXXXXXXXXXXXXX01"
    await channel.handle_text(inbound("科创板门槛", user=stranger))
    await channel.handle_text(inbound("你好", user=stranger))
    guest = await stack.record.get_client(guest_client_id(stranger))
    assert guest is not None
    assert (guest.name, guest.tier, guest.vip) == ("访客", "standard", False)
    assert (guest.branch, guest.responder_id) == ("上海浦东营业部", "dm-sh")
    assert [c.id for c in await stack.record.list_clients() if c.id.startswith("guest-")] == [guest.id]
    [link] = await stack.links.for_user(stranger, guest.id)
    assert [m.sender for m in await transcript(stack, link.conversation_id)].count(MessageSender.BOT) == 2


async def test_the_guest_branch_setting_picks_the_duty_manager(stack: Stack) -> None:
    channel = make_channel(stack, guest_branch="北京金融街营业部")
    await channel.handle_text(inbound("你好", user="wmBeijingGuestXXXXXXXXXXXX"))
    guest = await stack.record.get_client(guest_client_id("wmBeijingGuestXXXXXXXXXXXX"))
    assert guest is not None and (guest.branch, guest.responder_id) == ("北京金融街营业部", "dm-bj")


async def test_without_a_guest_branch_the_first_duty_manager_by_id_takes_guests(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("你好", user="wmDefaultGuestXXXXXXXXXXXX"))
    guest = await stack.record.get_client(guest_client_id("wmDefaultGuestXXXXXXXXXXXX"))
    first = (await stack.record.list_staff(Role.DUTY_MANAGER))[0]
    assert guest is not None and (guest.branch, guest.responder_id) == (first.branch, first.id)


async def test_a_branch_without_duty_manager_refuses_guests_politely(stack: Stack) -> None:
    channel = make_channel(stack, guest_branch="不存在的营业部")
    await channel.handle_text(inbound("你好", user="wmNowhereGuestXXXXXXXXXXXX"))
    assert stack.sender.kf_texts == [("wmNowhereGuestXXXXXXXXXXXX", KF_ACCOUNT, GUEST_REFUSED_NOTICE)]
    assert stack.bot.calls == []


async def test_a_number_reply_sends_the_suggested_question(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("两融怎么弄"))
    await channel.handle_text(inbound("2"))
    assert [text for _, text in stack.bot.calls] == ["两融怎么弄", SUGGESTED[1]]


async def test_not_solved_in_words_moves_the_question_up(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("科创板门槛"))
    await channel.handle_text(inbound("没解决"))
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    assert stack.bot.calls[-1][1] == FEEDBACK_UNRESOLVED
    conversation = await stack.routing.get_conversation(link.conversation_id)
    assert conversation.state != ConversationState.BOT and conversation.tier >= 2
    assert "问题未解答" in [m.text for m in await transcript(stack, conversation.id)]


async def test_staff_members_are_handed_to_the_staff_handler(stack: Stack) -> None:
    staff = RecordingStaffMessages()
    channel = make_channel(stack, staff)
    await channel.handle_text(inbound("#ABCDEF 您好", user="zhaolei", kind=IdentityKind.STAFF))
    [(member, message)] = staff.handled
    assert member.id == "rsp01" and message.text == "#ABCDEF 您好"
    assert stack.bot.calls == [] and await stack.links.for_user("zhaolei", "rsp01") == []


async def test_a_too_long_message_is_refused_with_a_notice_and_starts_nothing(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("长" * 201))
    assert stack.sender.kf_texts == [(KNOWN_CLIENT_WECOM, KF_ACCOUNT, TOO_LONG_NOTICE)]
    assert await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001") == []


async def test_when_the_bot_is_down_the_question_goes_to_people(stack: Stack) -> None:
    channel = make_channel(stack)
    await stack.routing.set_presence("svc01", Presence.ONLINE)
    stack.bot.down = True
    await channel.handle_text(inbound("科创板门槛"))
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    conversation = await stack.routing.get_conversation(link.conversation_id)
    assert conversation.state != ConversationState.BOT
    assert conversation.escalation_reason is not None and conversation.escalation_reason.value == "kb_unavailable"
    assert (await transcript(stack, conversation.id))[0].text == "科创板门槛"


async def test_a_corp_member_client_keeps_their_route(stack: Stack) -> None:
    channel = make_channel(stack)
    await channel.handle_text(inbound("科创板门槛", kind=IdentityKind.STAFF))  # the demo id looks like a corp member id
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    assert (link.kind, link.open_kfid) == ("staff", None)
    await channel.handle_text(inbound("你好"))  # later through 微信客服: same conversation, new route
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    assert (link.kind, link.open_kfid) == ("kf", KF_ACCOUNT)


async def test_links_and_guest_audits_are_stamped_by_the_injected_clock(stack: Stack) -> None:
    clock = ManualClock(datetime(2026, 5, 4, 1, 0, tzinfo=UTC))
    channel = make_channel(stack, clock=clock)
    stranger = "wmClockGuestXXXXXXXXXXXXXX"
    await channel.handle_text(inbound("你好", user=stranger))
    [link] = await stack.links.for_user(stranger, guest_client_id(stranger))
    assert link.created_at == clock.now()
    async with stack.engine.connect() as connection:
        stamps = (await connection.execute(select(audit_log.c.at).where(audit_log.c.subject == link.client_id))).all()
    assert [at for (at,) in stamps] == [clock.now()]
