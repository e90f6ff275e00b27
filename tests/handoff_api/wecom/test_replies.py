"""Outbound replies to WeCom clients: rendering without buttons, exactly-once relay, catch-up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from handoff_api.wecom.replies import FEEDBACK_HINT, SUGGESTIONS_HINT, ReplyRelay, render_for_wecom
from handoff_api.wecom.store import ConversationLinks
from routing.events import MessageAdded, RoutingEvent
from routing.memory import MemoryIdempotencyStore, SystemClock
from routing.models import Channel, Presence
from tests.handoff_api.conftest import ANSWER
from tests.handoff_api.wecom.stack import (
    KF_ACCOUNT,
    KNOWN_CLIENT_WECOM,
    SUGGESTED,
    RecordingSender,
    Stack,
    build_stack,
    drain,
    inbound,
    make_channel,
)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    built = await build_stack(tmp_path)
    yield built
    await built.engine.dispose()


def make_relay(stack: Stack, sender: RecordingSender | None = None, default_open_kfid: str | None = None) -> ReplyRelay:
    return ReplyRelay(
        record=stack.record,
        links=stack.links,
        sender=sender or stack.sender,
        idempotency=stack.idempotency,
        default_open_kfid=default_open_kfid,
    )


async def relay_all(relay: ReplyRelay, events: list[RoutingEvent]) -> int:
    return sum([await relay.handle(event) for event in events if isinstance(event, MessageAdded)])


# --------------------------------------------------------------------------- rendering


def test_an_answer_asks_for_the_result_in_words() -> None:
    text = render_for_wecom("bot", str(ANSWER["text"]), ANSWER)
    assert text == f"{ANSWER['text']}\n\n{FEEDBACK_HINT}"
    assert "回复“解决了”或“没解决”告诉我们结果" in FEEDBACK_HINT


def test_suggestions_become_a_numbered_list() -> None:
    payload = {"type": "suggestions", "suggestions": [{"question": q} for q in SUGGESTED]}
    text = render_for_wecom("bot", "您是不是想问：", payload)
    assert text == "\n".join(
        ["您是不是想问：", *(f"{n}. {q}" for n, q in enumerate(SUGGESTED, 1)), "", SUGGESTIONS_HINT]
    )
    assert "转人工" in SUGGESTIONS_HINT


def test_staff_replies_say_who_answers_and_notices_stay_as_they_are() -> None:
    assert render_for_wecom("agent", "您好", {}, "张伟") == "【张伟】您好"
    assert render_for_wecom("responder", "您好", {}, None) == "您好"
    assert (
        render_for_wecom("system", "正在为您转接在线客服，请稍候。", {"type": "queued"})
        == "正在为您转接在线客服，请稍候。"
    )
    request = render_for_wecom("system", "本次服务已结束。", {"type": "feedback_request"})
    assert request == f"本次服务已结束。\n{FEEDBACK_HINT}"
    assert render_for_wecom("bot", "  ", {"type": "text"}) is None


# --------------------------------------------------------------------------- relaying


async def test_bot_answers_of_wecom_conversations_go_back_through_customer_service(stack: Stack) -> None:
    subscription = await stack.events.subscribe()
    await make_channel(stack).handle_text(inbound("科创板门槛"))
    events = await drain(subscription)
    assert await relay_all(make_relay(stack), events) == 1
    [(user, account, text)] = stack.sender.kf_texts
    assert (user, account) == (KNOWN_CLIENT_WECOM, KF_ACCOUNT)
    assert text.startswith(str(ANSWER["text"])) and text.endswith(FEEDBACK_HINT)


async def test_each_message_is_sent_once_even_with_several_workers(stack: Stack) -> None:
    first, second = await stack.events.subscribe(), await stack.events.subscribe()
    await make_channel(stack).handle_text(inbound("科创板门槛"))
    worker_a, worker_b = RecordingSender(), RecordingSender()
    sent = await relay_all(make_relay(stack, worker_a), await drain(first))
    sent += await relay_all(make_relay(stack, worker_b), await drain(second))
    assert sent == 1 and len(worker_a.kf_texts) + len(worker_b.kf_texts) == 1


async def test_client_messages_and_other_channels_are_not_relayed(stack: Stack) -> None:
    subscription = await stack.events.subscribe()
    widget = await stack.routing.start_conversation("C10001", Channel.WIDGET)
    await stack.flow.client_message(widget.id, "科创板门槛")
    events = await drain(subscription)
    assert {event.sender for event in events if isinstance(event, MessageAdded)} == {"client", "bot"}
    assert await relay_all(make_relay(stack), events) == 0
    assert stack.sender.kf_texts == [] and stack.sender.texts == []


async def test_agent_replies_and_notices_reach_the_client_in_order(stack: Stack) -> None:
    await stack.routing.set_presence("svc01", Presence.ONLINE)
    subscription = await stack.events.subscribe()
    await make_channel(stack).handle_text(inbound("转人工"))
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    await stack.routing.staff_reply("svc01", link.conversation_id, "您好，请问有什么可以帮您？")
    await relay_all(make_relay(stack), await drain(subscription))
    texts = [text for _, _, text in stack.sender.kf_texts]
    assert texts[-1] == "【刘洋】您好，请问有什么可以帮您？"
    assert any("刘洋" in text and "为您服务" in text for text in texts[:-1])


@pytest.mark.parametrize(
    ("default_open_kfid", "expected_kf", "expected_app"),
    [("wkKF-default", [(KNOWN_CLIENT_WECOM, "wkKF-default")], []), (None, [], [(KNOWN_CLIENT_WECOM,)])],
)
async def test_a_conversation_without_link_uses_the_directory_wecom_id(
    stack: Stack, default_open_kfid: str | None, expected_kf: list[tuple[str, str]], expected_app: list[tuple[str]]
) -> None:
    subscription = await stack.events.subscribe()
    conversation = await stack.routing.start_conversation("C10001", Channel.WECOM)  # opened by an integration
    await stack.flow.client_message(conversation.id, "科创板门槛")
    assert await relay_all(make_relay(stack, default_open_kfid=default_open_kfid), await drain(subscription)) == 1
    assert [(u, a) for u, a, _ in stack.sender.kf_texts] == expected_kf
    assert [users for users, _ in stack.sender.texts] == expected_app


async def test_catch_up_sends_what_was_missed_once(stack: Stack) -> None:
    await make_channel(stack).handle_text(inbound("科创板门槛"))  # nobody listening: the answer was not relayed
    [link] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    relay = make_relay(stack)
    assert await relay.catch_up(link.created_at) == 1
    assert await relay.catch_up(link.created_at) == 0
    restarted = ReplyRelay(  # a fresh process with a fresh claim store still knows from relayed_seq
        record=stack.record,
        links=ConversationLinks(stack.engine),
        sender=stack.sender,
        idempotency=MemoryIdempotencyStore(SystemClock()),
    )
    assert await restarted.catch_up(link.created_at) == 0
    assert len(stack.sender.kf_texts) == 1
    [stored] = await stack.links.for_user(KNOWN_CLIENT_WECOM, "C10001")
    assert stored.relayed_seq == 2
