"""The conversation flow over the real routing service (in-memory record and ports) and a scripted bot."""

from __future__ import annotations

import pytest

from handoff_api.bot_client import BotPayload
from handoff_api.client_input import HumanRequest, Rating, Utterance, parse_client_text
from handoff_api.flow import ConversationFlow
from routing.errors import IllegalTransition, ValidationFailed
from routing.models import Channel, ConversationState, EscalationReason, SenderKind
from tests.handoff_api.conftest import ANSWER, ScriptedBot
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import World, build_world

S = ConversationState


@pytest.fixture
async def world() -> World:
    return await build_world(FakeRecord())


class FlowBot(ScriptedBot):
    """The scripted bot, which also hands a 转人工 click to the service queue."""

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        if text == "/ask_human":
            self.calls.append((conversation_id, text))
            return [{"type": "escalate", "text": "正在转接", "reason": "asked_human", "queue_hint": "service"}]
        return await super().send(conversation_id, text)


@pytest.fixture
def bot() -> FlowBot:
    return FlowBot()


@pytest.fixture
def flow(world: World, bot: ScriptedBot) -> ConversationFlow:
    return ConversationFlow(world.service, bot, max_chars=50)


async def open_for(world: World, client_id: str = "c-std") -> str:
    return (await world.service.start_conversation(client_id, Channel.API)).id


def test_text_is_checked_once_at_the_edge(flow: ConversationFlow) -> None:
    assert flow.check_text("  科创板门槛  ") == "科创板门槛"
    with pytest.raises(ValidationFailed):
        flow.check_text("   ")
    with pytest.raises(ValidationFailed):
        flow.check_text("长" * 51)
    assert flow.read_text("/feedback_unresolved") == Rating(False)
    assert flow.read_text("/ask_human") == HumanRequest()
    assert parse_client_text("问题已解答") == Utterance("问题已解答")


async def test_the_bot_answers_when_it_owns_the_conversation(world: World, flow: ConversationFlow, bot) -> None:
    conversation_id = await open_for(world)
    result = await flow.client_message(conversation_id, "科创板门槛是多少")
    assert bot.calls == [(conversation_id, "科创板门槛是多少")]
    assert result.client_message.text == "科创板门槛是多少"
    assert [reply.payload.get("faq_id") for reply in result.replies] == [ANSWER["faq_id"]]
    assert result.conversation.state == S.BOT


async def test_a_rating_in_the_bot_state_is_recorded_and_sent_to_the_bot_as_its_intent(
    world: World, flow: ConversationFlow, bot
) -> None:
    await world.online("adv1")
    conversation_id = await open_for(world)
    await flow.client_message(conversation_id, "科创板门槛是多少")
    result = await flow.feedback(conversation_id, resolved=False)
    assert bot.calls[-1] == (conversation_id, "/feedback_unresolved")
    assert result.client_message.text == "问题未解答"
    assert (result.conversation.state, result.conversation.assignee_id) == (S.WITH_AGENT, "adv1")
    assert result.conversation.escalation_reason == EscalationReason.CLIENT_UNRESOLVED
    [ticket] = await world.record.tickets_for_conversation(conversation_id)
    assert ticket.question == "科创板门槛"  # the bot's own account of the question


async def test_the_escalated_question_is_the_latest_real_one(world: World, flow: ConversationFlow) -> None:
    conversation_id = await open_for(world)
    for text in ("第一个问题", "科创板门槛是多少"):
        await flow.client_message(conversation_id, text)
    await flow.handle(conversation_id, HumanRequest())
    assert await world.service.latest_client_texts(conversation_id, 3) == ["转人工", "科创板门槛是多少", "第一个问题"]
    [ticket] = await world.record.tickets_for_conversation(conversation_id)
    assert ticket.question == "科创板门槛是多少"


async def test_nothing_goes_to_the_bot_while_a_person_serves(world: World, flow: ConversationFlow, bot) -> None:
    await world.online("svc1")
    conversation_id = await open_for(world)
    await flow.client_message(conversation_id, "怎么改手机号")
    await flow.handle(conversation_id, HumanRequest())
    calls = len(bot.calls)
    result = await flow.client_message(conversation_id, "还在吗")
    assert len(bot.calls) == calls
    assert result.replies == [] and result.conversation.state == S.WITH_AGENT
    assert result.client_message.sender == SenderKind.CLIENT


async def test_rating_a_person_goes_to_routing_not_the_bot(world: World, flow: ConversationFlow, bot) -> None:
    await world.online("svc1")
    conversation_id = await open_for(world)
    await flow.handle(conversation_id, HumanRequest())
    await world.service.staff_reply("svc1", conversation_id, "已为您处理")
    calls = len(bot.calls)
    result = await flow.feedback(conversation_id, resolved=True)
    assert len(bot.calls) == calls
    assert result.conversation.state == S.RESOLVED
    assert result.client_message.text == "问题已解答"


async def test_unresolved_after_a_person_resolved_goes_to_tier3_and_keeps_the_order(
    world: World, flow: ConversationFlow
) -> None:
    await world.online("svc1")
    conversation_id = await open_for(world)
    await flow.handle(conversation_id, HumanRequest())
    await world.service.resolve("svc1", conversation_id)
    result = await flow.feedback(conversation_id, resolved=False)
    assert (result.conversation.state, result.conversation.assignee_id) == (S.AWAITING_RESPONDER, "r1")
    transcript = await world.record.list_messages(conversation_id)
    clicked = next(m.seq for m in transcript if m.text == "问题未解答")
    assert any(m.sender == SenderKind.SYSTEM and m.seq > clicked for m in transcript)


async def test_the_next_question_after_a_resolution_goes_to_the_bot(world: World, flow: ConversationFlow, bot) -> None:
    await world.online("svc1")
    conversation_id = await open_for(world)
    await flow.handle(conversation_id, HumanRequest())
    await world.service.resolve("svc1", conversation_id)
    result = await flow.client_message(conversation_id, "另外科创板门槛是多少")
    assert bot.calls[-1] == (conversation_id, "另外科创板门槛是多少")
    assert result.conversation.state == S.BOT and result.replies


async def test_a_closed_conversation_refuses_new_turns(world: World, flow: ConversationFlow) -> None:
    conversation_id = await open_for(world)
    await world.service.close(None, conversation_id)
    with pytest.raises(IllegalTransition):
        await flow.client_message(conversation_id, "你好")


async def test_accept_stores_the_words_before_the_bot_is_asked(world: World, flow: ConversationFlow, bot) -> None:
    conversation_id = await open_for(world)
    accepted = await flow.accept(conversation_id, Utterance("科创板门槛"))
    assert bot.calls == []
    assert (accepted.client_message.seq, accepted.client_message.text) == (1, "科创板门槛")
    result = await flow.respond(accepted)
    assert bot.calls == [(conversation_id, "科创板门槛")]
    assert result.client_message == accepted.client_message and [m.seq for m in result.replies] == [2]


async def test_accept_gives_a_resolved_conversation_back_to_the_bot_and_says_where_it_started(
    world: World, flow: ConversationFlow
) -> None:
    await world.online("svc1")
    conversation_id = await open_for(world)
    await flow.handle(conversation_id, HumanRequest())
    await world.service.resolve("svc1", conversation_id)
    accepted = await flow.accept(conversation_id, Utterance("另外科创板门槛是多少"))
    assert accepted.opened_in.state == S.RESOLVED and accepted.conversation.state == S.BOT
    assert accepted.conversation.version > accepted.opened_in.version


async def test_a_resent_message_is_stored_once_and_gets_the_replies_it_already_had(
    world: World, flow: ConversationFlow, bot
) -> None:
    conversation_id = await open_for(world)
    first = await flow.client_message(conversation_id, "科创板门槛是多少", client_msg_id="m-1")
    again = await flow.client_message(conversation_id, "科创板门槛是多少", client_msg_id="m-1")
    assert bot.calls == [(conversation_id, "科创板门槛是多少")]
    assert again.client_message.id == first.client_message.id
    assert [reply.id for reply in again.replies] == [reply.id for reply in first.replies]
    transcript = (await world.service.transcript(conversation_id)).messages
    assert [m.sender for m in transcript] == [SenderKind.CLIENT, SenderKind.BOT]


async def test_a_resend_after_the_turn_died_before_the_bot_answered_is_answered_once(
    world: World, flow: ConversationFlow, bot
) -> None:
    conversation_id = await open_for(world)
    accepted = await flow.accept(conversation_id, Utterance("科创板门槛是多少"), client_msg_id="m-1")
    # the worker dies here: the words are stored, the bot was never asked
    result = await flow.client_message(conversation_id, "科创板门槛是多少", client_msg_id="m-1")
    assert result.client_message.id == accepted.client_message.id
    assert bot.calls == [(conversation_id, "科创板门槛是多少")]
    assert [reply.payload.get("faq_id") for reply in result.replies] == [ANSWER["faq_id"]]
    again = await flow.client_message(conversation_id, "科创板门槛是多少", client_msg_id="m-1")
    assert [reply.id for reply in again.replies] == [reply.id for reply in result.replies]
    assert len(bot.calls) == 1


async def test_the_same_words_with_another_id_or_none_are_a_new_message(
    world: World, flow: ConversationFlow, bot
) -> None:
    conversation_id = await open_for(world)
    await flow.client_message(conversation_id, "科创板门槛是多少", client_msg_id="m-1")
    await flow.client_message(conversation_id, "科创板门槛是多少", client_msg_id="m-2")
    await flow.client_message(conversation_id, "科创板门槛是多少")
    assert len(bot.calls) == 3
    clients = [m for m in (await world.service.transcript(conversation_id)).messages if m.sender == SenderKind.CLIENT]
    assert [m.client_msg_id for m in clients] == ["m-1", "m-2", None]


async def test_a_resend_while_a_person_serves_asks_no_bot(world: World, flow: ConversationFlow, bot) -> None:
    await world.online("adv1")
    conversation_id = await open_for(world)
    await flow.handle(conversation_id, HumanRequest())
    await flow.client_message(conversation_id, "还在吗", client_msg_id="m-9")
    calls = list(bot.calls)
    again = await flow.client_message(conversation_id, "还在吗", client_msg_id="m-9")
    assert bot.calls == calls and again.replies == []


async def test_a_conversation_just_read_by_the_caller_is_used_as_read(
    world: World, flow: ConversationFlow, bot
) -> None:
    conversation_id, other_id = await open_for(world), await open_for(world, "c-vip")
    read = await world.service.get_conversation(conversation_id)
    result = await flow.client_message(conversation_id, "科创板门槛是多少", just_read=read)
    assert result.conversation.state == S.BOT and bot.calls == [(conversation_id, "科创板门槛是多少")]
    ignored = await flow.client_message(other_id, "科创板门槛是多少", just_read=read)  # another conversation's
    assert ignored.client_message.conversation_id == other_id and ignored.conversation.id == other_id
