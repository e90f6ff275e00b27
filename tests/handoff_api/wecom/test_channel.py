"""The WeCom inbound handler: identities to clients (or guests), conversations, text translation.

Runs over the real stack: SQLite record with the demo directory, RoutingService on memory ports,
the conversation flow with a scripted bot; only the WeCom sender is a recording double.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.bot_client import BotPayload
from handoff_api.classifier import FixedQueueClassifier
from handoff_api.flow import ConversationFlow
from handoff_api.wecom.client import SendResult, SendStatus
from handoff_api.wecom.client_text import (
    ASK_HUMAN,
    FEEDBACK_RESOLVED,
    FEEDBACK_UNRESOLVED,
    last_suggestions,
    translate_client_text,
)
from handoff_api.wecom.identity import InboundText, SenderKind
from handoff_api.wecom.inbound import GUEST_REFUSED_NOTICE, TOO_LONG_NOTICE, WeComClientChannel, guest_client_id
from handoff_api.wecom.store import ConversationLinks, SqlStateCache, wecom_state
from handoff_api.wecom.token_cache import MemoryTokenCache, SplitTokenCache, kf_cursor_key, token_key
from routing.directory_import import seed_demo
from routing.memory import MemoryEventBus, MemoryIdempotencyStore, MemoryPresenceStore, MemoryQueueStore, SystemClock
from routing.models import Channel, ConversationState, Message, Presence, Role, Staff
from routing.models import SenderKind as MessageSender
from routing.ports import Clock, Event, Subscription
from routing.service import RoutingService
from routing.settings import RoutingSettings
from routing.sql_record import SqlRecord, create_engine_for, migrate_async
from tests.handoff_api.conftest import ScriptedBot
from tests.handoff_api.wecom.doubles import RecordingOutbound

KF_ACCOUNT = "wkKF-branch"
KNOWN_CLIENT_WECOM = "wm_demo_c10001"  # C10001 陈晓明 in the demo directory
SUGGESTED = ["融资融券开户条件是什么？", "两融账户的利率是多少？", "两融可以买哪些股票？"]


class SuggestingBot(ScriptedBot):
    """The conftest bot, plus "did you mean" suggestions for 两融 questions and 转人工."""

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        if text == "/ask_human":
            self.calls.append((conversation_id, text))
            return [
                {
                    "type": "escalate",
                    "text": "好的，正在为您转接人工服务。",
                    "reason": "asked_human",
                    "queue_hint": None,
                    "question": "",
                    "faq_id": None,
                    "score": None,
                }
            ]
        if "两融" in text and text not in SUGGESTED:
            self.calls.append((conversation_id, text))
            return [
                {
                    "type": "suggestions",
                    "text": "您是不是想问：",
                    "band": "suggest",
                    "score": 0.8,
                    "suggestions": [{"faq_id": f"f{i}", "question": q, "score": 0.8} for i, q in enumerate(SUGGESTED)],
                    "buttons": [{"title": "转人工", "payload": "/ask_human"}],
                }
            ]
        return await super().send(conversation_id, text)


@dataclass
class RecordingSender(RecordingOutbound):
    """Records every WeCom send (client texts, staff texts, textcards) and reports it sent."""

    cards: list[tuple[tuple[str, ...], str, str, str]] = field(default_factory=list)

    async def send_textcard(
        self, user_ids: Sequence[str], title: str, description: str, url: str, button_text: str = "详情"
    ) -> SendResult:
        self.cards.append((tuple(user_ids), title, description, url))
        return SendResult(SendStatus.SENT, 1)


@dataclass
class RecordingStaffMessages:
    handled: list[tuple[Staff, InboundText]] = field(default_factory=list)

    async def handle(self, staff: Staff, message: InboundText) -> None:
        self.handled.append((staff, message))


@dataclass
class Stack:
    """The real services a WeCom channel runs against."""

    engine: AsyncEngine
    record: SqlRecord
    routing: RoutingService
    flow: ConversationFlow
    bot: SuggestingBot
    events: MemoryEventBus
    idempotency: MemoryIdempotencyStore
    links: ConversationLinks
    sender: RecordingSender


async def build_stack(tmp_path: Path, clock: Clock | None = None, settings: RoutingSettings | None = None) -> Stack:
    """Migrated SQLite record with the demo directory, routing on memory ports, flow with a scripted bot."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}"
    await migrate_async(url)
    engine = create_engine_for(url)
    record = SqlRecord(engine)
    await seed_demo(record)
    clock = clock or SystemClock()
    events = MemoryEventBus()
    idempotency = MemoryIdempotencyStore(clock)
    routing = RoutingService(
        record,
        MemoryQueueStore(clock),
        MemoryPresenceStore(clock),
        events,
        idempotency,
        clock,
        FixedQueueClassifier(),
        settings or RoutingSettings(always_open=True),
    )
    bot = SuggestingBot()
    links = ConversationLinks(engine)
    return Stack(
        engine, record, routing, ConversationFlow(routing, bot, 200), bot, events, idempotency, links, RecordingSender()
    )


async def drain(subscription: Subscription) -> list[Event]:
    """Every event published so far."""
    events = []
    while (event := await subscription.next_event(0.01)) is not None:
        events.append(event)
    return events


_counter = iter(range(1, 1_000_000))


def inbound(text: str, user: str = KNOWN_CLIENT_WECOM, kind: SenderKind = "kf") -> InboundText:
    return InboundText(
        wecom_user_id=user,
        text=text,
        msg_id=f"msg-{next(_counter)}",
        received_at=datetime.now(UTC),
        kind=kind,
        open_kfid=KF_ACCOUNT if kind == "kf" else None,
    )


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    built = await build_stack(tmp_path)
    yield built
    await built.engine.dispose()


def make_channel(
    stack: Stack, staff: RecordingStaffMessages | None = None, guest_branch: str = ""
) -> WeComClientChannel:
    return WeComClientChannel(
        record=stack.record,
        routing=stack.routing,
        flow=stack.flow,
        links=stack.links,
        sender=stack.sender,
        staff_messages=staff or RecordingStaffMessages(),
        guest_branch=guest_branch,
    )


async def transcript(stack: Stack, conversation_id: str) -> list[Message]:
    return await stack.record.list_messages(conversation_id)


# --------------------------------------------------------------------------- pure translation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("解决了", FEEDBACK_RESOLVED),
        (" 已解决。", FEEDBACK_RESOLVED),
        ("“解决了”", FEEDBACK_RESOLVED),
        ("没解决！", FEEDBACK_UNRESOLVED),
        ("未解决", FEEDBACK_UNRESOLVED),
        ("问题未解答", FEEDBACK_UNRESOLVED),
        ("转人工", ASK_HUMAN),
        ("两融怎么开通？", "两融怎么开通？"),
        ("  科创板门槛  ", "科创板门槛"),
        ("我的问题没解决，怎么办", "我的问题没解决，怎么办"),
    ],
)
def test_words_become_button_payloads(text: str, expected: str) -> None:
    assert translate_client_text(text) == expected


def test_a_number_picks_a_suggestion_only_within_range() -> None:
    assert translate_client_text("2", SUGGESTED) == SUGGESTED[1]
    assert translate_client_text(" 3。", SUGGESTED) == SUGGESTED[2]
    assert translate_client_text("4", SUGGESTED) == "4"
    assert translate_client_text("0", SUGGESTED) == "0"
    assert translate_client_text("2", []) == "2"


def _message(seq: int, sender: MessageSender, payload: dict[str, object]) -> Message:
    return Message(f"m{seq}", "c", seq, sender, "t", datetime.now(UTC), payload)


def test_last_suggestions_are_those_of_the_latest_bot_turn() -> None:
    offered: dict[str, object] = {"type": "suggestions", "suggestions": [{"question": q} for q in SUGGESTED]}
    assert last_suggestions([_message(1, MessageSender.BOT, offered)]) == SUGGESTED
    assert (
        last_suggestions(
            [_message(1, MessageSender.BOT, offered), _message(2, MessageSender.SYSTEM, {"type": "queued"})]
        )
        == SUGGESTED
    )
    answered = [_message(1, MessageSender.BOT, offered), _message(2, MessageSender.CLIENT, {})]
    assert last_suggestions(answered) == []
    assert last_suggestions([_message(1, MessageSender.BOT, {"type": "answer"})]) == []


def test_guest_ids_are_stable_and_distinct() -> None:
    first = guest_client_id("wmGuestAAAA")
    assert first == guest_client_id("wmGuestAAAA")
    assert first.startswith("guest-") and len(first) == len("guest-") + 16
    assert first != guest_client_id("wmGuestAAAB")


# --------------------------------------------------------------------------- over the real stack


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
    await channel.handle_text(inbound("#ABCDEF 您好", user="zhaolei", kind="staff"))
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
    await channel.handle_text(inbound("科创板门槛", kind="staff"))  # the demo id looks like a corp member id
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    assert (link.kind, link.open_kfid) == ("staff", None)
    await channel.handle_text(inbound("你好"))  # later through 微信客服: same conversation, new route
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    assert (link.kind, link.open_kfid) == ("kf", KF_ACCOUNT)


async def test_the_state_cache_keeps_values_durably_until_they_expire(stack: Stack) -> None:
    cache = SqlStateCache(stack.engine)
    assert await cache.get("tre:wecom:kf_cursor:ww1:wk1") is None
    await cache.set("tre:wecom:kf_cursor:ww1:wk1", "cursor-1", 60)
    await cache.set("tre:wecom:kf_cursor:ww1:wk1", "cursor-2", 60)
    assert await SqlStateCache(stack.engine).get("tre:wecom:kf_cursor:ww1:wk1") == "cursor-2"  # another worker
    await cache.set("short", "v", 1)
    async with stack.engine.begin() as connection:  # let it expire without sleeping
        await connection.execute(
            wecom_state.update().where(wecom_state.c.key == "short").values(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
        )
    assert await cache.get("short") is None
    with pytest.raises(ValueError, match="positive"):
        await cache.set("k", "v", 0)


async def test_cursors_go_to_the_durable_cache_and_tokens_to_the_fast_one(stack: Stack) -> None:
    tokens, durable = MemoryTokenCache(), SqlStateCache(stack.engine)
    split = SplitTokenCache(tokens, durable)
    await split.set(kf_cursor_key("ww1", "wk1"), "c-9", 60)
    await split.set(token_key("ww1", 1000002), "tok", 60)
    assert (
        await durable.get(kf_cursor_key("ww1", "wk1")) == "c-9"
        and await tokens.get(kf_cursor_key("ww1", "wk1")) is None
    )
    assert await tokens.get(token_key("ww1", 1000002)) == "tok" and await durable.get(token_key("ww1", 1000002)) is None
    assert await split.get(kf_cursor_key("ww1", "wk1")) == "c-9" and await split.get(token_key("ww1", 1000002)) == "tok"
