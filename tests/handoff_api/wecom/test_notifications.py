"""Staff notifications (tier-3 textcards down the responder ladder) and '#REF 回复' from WeCom."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from handoff_api.masking import mask_name
from handoff_api.wecom.identity import IdentityKind
from handoff_api.wecom.notifications import (
    NOT_HOLDER_REPLY,
    REFERENCE_ALPHABET,
    UNKNOWN_REFERENCE_REPLY,
    USAGE_REPLY,
    EscalationNotifier,
    StaffReplyHandler,
    console_link,
    escalation_card,
    parse_staff_reply,
    reference_code,
)
from handoff_api.wecom.text import utf8_len
from routing.events import Escalated, RoutingEvent
from routing.memory import ManualClock
from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    ResponderStep,
    SenderKind,
    Staff,
    Ticket,
    Tier,
)
from tests.handoff_api.wecom.stack import Stack, build_stack, drain, inbound, make_channel

CONSOLE = "https://branch.example.com"
LIMIT_SECONDS = 900.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def stack(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Stack]:
    built = await build_stack(tmp_path, clock)
    yield built
    await built.engine.dispose()


def make_notifier(stack: Stack) -> EscalationNotifier:
    return EscalationNotifier(
        record=stack.record,
        sender=stack.sender,
        idempotency=stack.idempotency,
        console_base_url=CONSOLE,
        responder_limit_seconds=LIMIT_SECONDS,
    )


def escalations(events: list[RoutingEvent]) -> list[Escalated]:
    return [event for event in events if isinstance(event, Escalated)]


async def escalate_to_responder(stack: Stack) -> tuple[str, list[RoutingEvent]]:
    """C10001 asks for advice while nobody is online: the conversation goes straight to rsp01 (tier 3)."""
    subscription = await stack.events.subscribe()
    await make_channel(stack).handle_text(inbound("推荐一只股票吧"))
    [link] = await stack.links.for_user("wm_demo_c10001", "C10001")
    events = await drain(subscription)
    await subscription.close()
    return link.conversation_id, events


# --------------------------------------------------------------------------- pure parts


def test_reference_codes_are_short_stable_and_spread() -> None:
    ids = [uuid.uuid4().hex for _ in range(2000)]
    codes = [reference_code(conversation_id) for conversation_id in ids]
    assert all(len(code) == 6 and set(code) <= set(REFERENCE_ALPHABET) for code in codes)
    assert reference_code(ids[0]) == codes[0]
    assert len(set(codes)) == len(codes)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#AB12CD 您好，已核实", ("AB12CD", "您好，已核实")),
        ("＃ab12cd：您好", ("AB12CD", "您好")),
        ("#AB12CD您好", ("AB12CD", "您好")),
        ("AB12CD 您好", ("AB12CD", "您好")),
        ("#0B12CO 好的", ("0B12C0", "好的")),
        ("#AB12CD", ("AB12CD", "")),
        ("您好", None),
        ("#AB12C 您好", None),
        ("AB12CDE 您好", None),
    ],
)
def test_staff_replies_are_parsed(text: str, expected: tuple[str, str] | None) -> None:
    assert parse_staff_reply(text) == expected


@pytest.mark.parametrize(
    ("name", "masked"),
    [("陈晓明", "陈*明"), ("林婉", "林*"), ("欧阳晓明", "欧**明"), ("王", "*"), (" 马国栋 ", "马*栋")],
)
def test_names_are_masked(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_the_card_fits_wecom_and_says_who_what_until_when_where() -> None:
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    conversation = Conversation(
        "conv-1", "C10001", Channel.WECOM, ConversationState.AWAITING_RESPONDER, Tier.RESPONDER, now, now
    )
    client = Client("C10001", "陈晓明", "diamond", True, "上海浦东营业部", "rsp01")
    ticket = Ticket(
        "t1",
        "conv-1",
        "C10001",
        Tier.RESPONDER,
        EscalationReason.NO_STAFF_ONLINE,
        "科创板<b>权限</b>" * 80,
        now,
        responder_step=ResponderStep.BACKUP,
        responder_deadline=now + timedelta(seconds=LIMIT_SECONDS),
    )
    card = escalation_card(
        conversation,
        client,
        ticket,
        now + timedelta(seconds=LIMIT_SECONDS),
        LIMIT_SECONDS,
        CONSOLE + "/",
        ZoneInfo("Asia/Shanghai"),
        now,
    )
    assert utf8_len(card.description) <= 512
    assert "陈*明（VIP）" in card.description and "陈晓明" not in card.description
    assert "03-02 10:15" in card.description and "15 分钟" in card.description
    assert f"#{reference_code('conv-1')}" in card.description and card.reference in card.title
    assert "<b>" not in card.description and "&lt;b&gt;" in card.description
    assert "备岗" in card.title
    assert card.url == console_link(CONSOLE, "conv-1") == f"{CONSOLE}/console#/conversations/conv-1"


def test_the_card_masks_numbers_in_the_question() -> None:
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    conversation = Conversation(
        "conv-2", "C10001", Channel.WECOM, ConversationState.AWAITING_RESPONDER, Tier.RESPONDER, now, now
    )
    question = "我的身份证110101199003071234，手机13812345678，卡号6222021234567890123转不了账"
    ticket = Ticket("t2", "conv-2", "C10001", Tier.RESPONDER, EscalationReason.AGENT_UNRESOLVED, question, now)
    card = escalation_card(conversation, None, ticket, now, LIMIT_SECONDS, CONSOLE, ZoneInfo("Asia/Shanghai"), now)
    assert "身份证110***********1234，手机138****5678，卡号6222***********0123转不了账" in card.description
    for number in ("110101199003071234", "13812345678", "6222021234567890123"):
        assert number not in card.description and number not in card.title


# --------------------------------------------------------------------------- notifications


async def test_the_responder_gets_one_textcard_with_reference_and_link(stack: Stack) -> None:
    conversation_id, events = await escalate_to_responder(stack)
    [event] = escalations(events)
    assert event.staff_id == "rsp01"
    notifier = make_notifier(stack)
    card = await notifier.handle(event)
    assert card is not None and card.reference == reference_code(conversation_id)
    [(users, title, description, url)] = stack.sender.cards
    assert users == ("zhaolei",) and "专属响应人" in title
    assert "推荐一只股票吧" in description and "陈*明" in description and f"#{card.reference}" in description
    assert url == f"{CONSOLE}/console#/conversations/{conversation_id}"
    assert await notifier.handle(event) is None  # a second worker (or a repeated event) sends nothing
    assert len(stack.sender.cards) == 1


async def test_the_ladder_notifies_the_backup_and_then_the_duty_manager(stack: Stack, clock: ManualClock) -> None:
    _conversation_id, _ = await escalate_to_responder(stack)
    notifier = make_notifier(stack)
    subscription = await stack.events.subscribe()
    clock.advance(LIMIT_SECONDS + 1)
    await stack.routing.tick()
    [to_backup] = escalations(await drain(subscription))
    assert (to_backup.staff_id, to_backup.step) == ("rsp02", "backup")
    assert await notifier.handle(to_backup) is None  # rsp02 has no WeCom id in the directory
    clock.advance(LIMIT_SECONDS + 1)
    await stack.routing.tick()
    [to_manager] = escalations(await drain(subscription))
    assert await notifier.handle(to_manager) is not None
    [(users, title, _description, _url)] = stack.sender.cards
    assert users == ("sunli",) and "值班经理" in title


async def test_escalations_below_tier_3_are_ignored(stack: Stack) -> None:
    notifier = make_notifier(stack)
    assert await notifier.handle(Escalated(conversation_id="x", tier=2, staff_id="rsp01", reason="asked_human")) is None
    assert stack.sender.cards == []


# --------------------------------------------------------------------------- replies from WeCom


async def _staff(stack: Stack, staff_id: str) -> Staff:
    member = await stack.record.get_staff(staff_id)
    assert member is not None and member.wecom_user_id
    return member


async def test_the_holder_answers_the_client_with_the_reference(stack: Stack) -> None:
    conversation_id, _ = await escalate_to_responder(stack)
    handler = StaffReplyHandler(record=stack.record, routing=stack.routing, sender=stack.sender)
    reference = reference_code(conversation_id).lower()
    await handler.handle(
        await _staff(stack, "rsp01"), inbound(f"#{reference} 您好，我是赵磊", "zhaolei", IdentityKind.STAFF)
    )
    last = (await stack.record.list_messages(conversation_id))[-1]
    assert (last.sender, last.text) == (SenderKind.RESPONDER, "您好，我是赵磊")
    assert last.served_by is not None and last.served_by.staff_id == "rsp01"
    assert (await stack.routing.get_conversation(conversation_id)).state == ConversationState.WITH_RESPONDER
    [(users, confirmation)] = stack.sender.texts
    assert users == ("zhaolei",) and "已将您的回复发送给客户 陈*明" in confirmation


async def test_someone_who_does_not_hold_it_is_refused(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    conversation_id, _ = await escalate_to_responder(stack)
    before = await stack.record.list_messages(conversation_id)
    handler = StaffReplyHandler(record=stack.record, routing=stack.routing, sender=stack.sender)
    reference = reference_code(conversation_id)
    await handler.handle(
        await _staff(stack, "adv01"), inbound(f"#{reference} 我来回答", "zhangwei", IdentityKind.STAFF)
    )
    assert await stack.record.list_messages(conversation_id) == before
    assert stack.sender.texts == [(("zhangwei",), NOT_HOLDER_REPLY.format(ref=reference))]
    assert "refused" in caplog.text


async def test_unknown_references_and_plain_texts_get_an_explanation(stack: Stack) -> None:
    handler = StaffReplyHandler(record=stack.record, routing=stack.routing, sender=stack.sender)
    zhaolei = await _staff(stack, "rsp01")
    await handler.handle(zhaolei, inbound("#ZZZZZZ 您好", "zhaolei", IdentityKind.STAFF))
    await handler.handle(zhaolei, inbound("今天下午开会吗", "zhaolei", IdentityKind.STAFF))
    assert [text for _, text in stack.sender.texts] == [UNKNOWN_REFERENCE_REPLY.format(ref="ZZZZZZ"), USAGE_REPLY]
