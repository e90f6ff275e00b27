"""Pleasantries get their line; a question or personal data inside one never does."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.answer_faq import PRIVACY_TEXT
from bot.actions.small_talk import ASK_WHAT_TEXT, ActionSmallTalk, carries_question, leftover
from knowledge_base.models import Band
from tests.bot.conftest import FakeRetriever, make_entry, make_hit, make_retrieval, make_tracker, provider_of


async def run(text: str, intent: str, retriever: FakeRetriever | None = None):
    retriever = retriever or FakeRetriever(make_retrieval(text, Band.ANSWER, [make_hit(make_entry(), 0.94)]))
    dispatcher = CollectingDispatcher()
    events = await ActionSmallTalk(provider_of(retriever)).run(dispatcher, make_tracker(text, intent), {})
    return dispatcher.messages, events, retriever


@pytest.mark.parametrize(
    "text", ["你好", "您好，在吗", "谢谢您！", "好的谢谢", "再见", "拜拜~", "ok 88", "嗯嗯 多谢了"]
)
def test_pleasantries_carry_no_question(text: str) -> None:
    assert not carries_question(text), leftover(text)


@pytest.mark.parametrize(
    "text", ["你好，科创板怎么开通", "谢谢，那创业板呢", "您好请问两融利率多少", "再见之前问下佣金怎么算"]
)
def test_questions_inside_pleasantries_are_seen(text: str) -> None:
    assert carries_question(text)


@pytest.mark.parametrize(
    ("text", "intent", "response"),
    [("你好", "greet", "utter_greet"), ("谢谢", "thanks", "utter_thanks"), ("拜拜", "goodbye", "utter_goodbye")],
)
async def test_a_pleasantry_gets_its_response(text: str, intent: str, response: str) -> None:
    messages, events, retriever = await run(text, intent)
    assert [message["response"] for message in messages] == [response]
    assert events == [] and retriever.questions == []


async def test_a_greeting_with_a_question_is_answered_from_the_knowledge_base() -> None:
    messages, _events, retriever = await run("你好，科创板怎么开通", "greet")
    assert retriever.questions == ["你好，科创板怎么开通"]
    assert [message["custom"]["type"] for message in messages] == ["answer"]


async def test_personal_numbers_get_a_privacy_reminder_and_are_never_looked_up() -> None:
    text = "我的手机号13812345678，身份证110101199003071234"
    messages, _events, retriever = await run(text, "thanks")
    texts = [message.get("text") for message in messages]
    assert PRIVACY_TEXT in texts
    assert not any(message.get("response") == "utter_thanks" for message in messages)
    assert all("13812345678" not in question for question in retriever.questions)


async def test_personal_numbers_alone_ask_what_the_client_needs() -> None:
    messages, _events, retriever = await run("13812345678", "thanks")
    assert [message.get("text") for message in messages] == [PRIVACY_TEXT, ASK_WHAT_TEXT]
    assert retriever.questions == []


async def test_a_question_with_a_personal_number_is_answered_without_it() -> None:
    messages, _events, retriever = await run("谢谢，手机号13812345678换了怎么修改", "thanks")
    assert messages[0]["text"] == PRIVACY_TEXT
    assert retriever.questions == ["谢谢，手机号 换了怎么修改"]
    assert messages[1]["custom"]["type"] == "answer"
