from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.handoff import ActionRequestHandoff, named_queue
from knowledge_base.models import Band, FollowUpQueue
from tests.bot.conftest import (
    FakeRetriever,
    make_hit,
    make_retrieval,
    make_tracker,
    provider_of,
    unavailable_provider,
)


async def run_handoff(action: ActionRequestHandoff, text: str, intent: str, slots=None):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(text, intent, slots), {})
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]["custom"], events


def never_called():
    raise AssertionError("the knowledge base must not be consulted")


def test_name_and_no_argument_construction():
    assert ActionRequestHandoff().name() == "action_request_handoff"


async def test_advice_request_goes_to_a_licensed_advisor_with_a_compliance_notice():
    payload, events = await run_handoff(ActionRequestHandoff(never_called), "茅台明天会涨吗", "request_advice")

    assert payload["type"] == "escalate"
    assert payload["reason"] == "advice_request"
    assert payload["queue_hint"] == "advisor"
    assert payload["question"] == "茅台明天会涨吗"
    assert payload["faq_id"] is None
    assert "监管要求" in payload["text"]
    assert "持牌投资顾问" in payload["text"]
    assert {e["name"]: e["value"] for e in events} == {
        "last_question": "茅台明天会涨吗",
        "last_queue": "advisor",
        "last_faq_id": None,
    }


async def test_advice_request_never_answers_even_with_earlier_slots():
    slots = {"last_question": "科创板怎么开通", "last_queue": "service", "last_faq_id": "bg-kcb"}
    action = ActionRequestHandoff(never_called)
    payload, _ = await run_handoff(action, "现在能买宁德吗", "request_advice", slots)
    assert payload["type"] == "escalate"
    assert payload["queue_hint"] == "advisor"


async def test_ask_human_uses_the_last_queue():
    slots = {"last_question": "科创板怎么开通", "last_queue": "service", "last_faq_id": "bg-kcb"}

    payload, events = await run_handoff(ActionRequestHandoff(never_called), "转人工", "ask_human", slots)

    assert payload["reason"] == "asked_human"
    assert payload["queue_hint"] == "service"
    assert payload["question"] == "科创板怎么开通"
    assert payload["faq_id"] == "bg-kcb"
    assert "在线客服" in payload["text"]
    assert events == []


async def test_ask_human_looks_up_the_queue_of_the_last_question(advisor_entry):
    retriever = FakeRetriever(make_retrieval("资产怎么配置", Band.ESCALATE, [make_hit(advisor_entry, 0.8)]))
    slots = {"last_question": "资产怎么配置"}

    payload, _ = await run_handoff(ActionRequestHandoff(provider_of(retriever)), "找客服", "ask_human", slots)

    assert retriever.questions == ["资产怎么配置"]
    assert payload["queue_hint"] == "advisor"
    assert payload["question"] == "资产怎么配置"


async def test_ask_human_without_history_has_no_queue_hint():
    payload, _ = await run_handoff(ActionRequestHandoff(never_called), "我要真人", "ask_human")

    assert payload["reason"] == "asked_human"
    assert payload["queue_hint"] is None
    assert payload["question"] == "我要真人"
    assert "人工服务" in payload["text"]


async def test_ask_human_naming_an_advisor_goes_to_the_advisors_whatever_came_before():
    slots = {"last_question": "怎么改密码", "last_queue": "service"}
    payload, _ = await run_handoff(ActionRequestHandoff(never_called), "转在线投顾", "ask_human", slots)
    assert payload["queue_hint"] == "advisor"
    assert "在线投顾" in payload["text"]


async def test_ask_human_naming_customer_service_only_decides_without_history():
    action = ActionRequestHandoff(never_called)
    without_history, _ = await run_handoff(action, "我要找人工客服", "ask_human")
    after_advisor_question, _ = await run_handoff(
        action, "我要找人工客服", "ask_human", {"last_question": "什么是资产配置", "last_queue": "advisor"}
    )
    assert without_history["queue_hint"] == "service"
    assert after_advisor_question["queue_hint"] == "advisor"


async def test_ask_human_naming_customer_service_when_the_lookup_finds_nothing():
    retriever = FakeRetriever(make_retrieval("随便", Band.ESCALATE))
    slots = {"last_question": "随便"}
    payload, _ = await run_handoff(ActionRequestHandoff(provider_of(retriever)), "找客服", "ask_human", slots)
    assert payload["queue_hint"] == "service"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("转人工", None),
        ("叫你们经理来", None),
        ("找客服", FollowUpQueue.SERVICE),
        ("我想咨询人工投顾", FollowUpQueue.ADVISOR),
        ("让投资顾问跟我聊", FollowUpQueue.ADVISOR),
        ("客服帮我转投顾", FollowUpQueue.ADVISOR),
    ],
)
def test_named_queue(text, expected):
    assert named_queue(text) is expected


async def test_ask_human_button_payload_is_not_taken_as_the_question():
    payload, _ = await run_handoff(ActionRequestHandoff(never_called), "/ask_human", "ask_human")
    assert payload["question"] is None


async def test_ask_human_with_unavailable_knowledge_base_still_hands_over():
    slots = {"last_question": "怎么开户"}
    payload, _ = await run_handoff(ActionRequestHandoff(unavailable_provider), "人工", "ask_human", slots)
    assert payload["reason"] == "asked_human"
    assert payload["queue_hint"] is None
