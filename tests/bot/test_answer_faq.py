from __future__ import annotations

import logging

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.answer_faq import EMPTY_QUESTION_TEXT, PRIVACY_TEXT, ActionAnswerFaq
from bot.actions.deps import KnowledgeBaseUnavailable
from knowledge_base.models import Band
from tests.bot.conftest import (
    FakeRetriever,
    make_hit,
    make_retrieval,
    make_tracker,
    provider_of,
    unavailable_provider,
)


async def run_action(action: ActionAnswerFaq, text: str, intent: str = "question"):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(text, intent), {})
    return dispatcher.messages, events


def only_payload(messages):
    assert len(messages) == 1
    return messages[0]["custom"]


def slots(events):
    return {event["name"]: event["value"] for event in events if event["event"] == "slot"}


def test_name_and_no_argument_construction():
    assert ActionAnswerFaq().name() == "action_answer_faq"


async def test_answer_band_replies_the_answer_and_remembers_the_entry(kcb_entry):
    retriever = FakeRetriever(make_retrieval("科创板怎么开通", Band.ANSWER, [make_hit(kcb_entry, 0.94)]))

    messages, events = await run_action(ActionAnswerFaq(provider_of(retriever)), "  科创板怎么开通 ")

    payload = only_payload(messages)
    assert payload["type"] == "answer"
    assert payload["faq_id"] == kcb_entry.id
    assert payload["text"] == kcb_entry.answer
    assert payload["score"] == 0.94
    assert [b["payload"] for b in payload["buttons"]] == ["/feedback_resolved", "/feedback_unresolved"]
    assert retriever.questions == ["科创板怎么开通"]
    assert slots(events) == {
        "last_question": "科创板怎么开通",
        "last_queue": "service",
        "last_faq_id": kcb_entry.id,
    }


async def test_suggest_band_replies_top_three_and_remembers_the_queue(kcb_entry, advisor_entry):
    hits = [make_hit(advisor_entry, 0.9), make_hit(kcb_entry, 0.89)]
    retriever = FakeRetriever(make_retrieval("配置", Band.SUGGEST, hits))

    messages, events = await run_action(ActionAnswerFaq(provider_of(retriever)), "配置")

    payload = only_payload(messages)
    assert payload["type"] == "suggestions"
    assert [s["faq_id"] for s in payload["suggestions"]] == [advisor_entry.id, kcb_entry.id]
    assert slots(events) == {"last_question": "配置", "last_queue": "advisor", "last_faq_id": None}


async def test_escalate_band_hands_over_with_low_score(advisor_entry):
    retrieval = make_retrieval("明天去哪吃饭", Band.ESCALATE, [make_hit(advisor_entry, 0.8)])
    retriever = FakeRetriever(retrieval)

    action = ActionAnswerFaq(provider_of(retriever))
    messages, events = await run_action(action, "明天去哪吃饭", "nlu_fallback")

    payload = only_payload(messages)
    assert payload["type"] == "escalate"
    assert payload["reason"] == "low_score"
    assert payload["queue_hint"] == "advisor"
    assert payload["question"] == "明天去哪吃饭"
    assert payload["score"] == 0.8
    assert slots(events) == {"last_question": "明天去哪吃饭", "last_queue": "advisor", "last_faq_id": None}


async def test_unavailable_knowledge_base_escalates_instead_of_crashing():
    messages, events = await run_action(ActionAnswerFaq(unavailable_provider), "怎么开户")

    payload = only_payload(messages)
    assert payload["type"] == "escalate"
    assert payload["reason"] == "kb_unavailable"
    assert payload["queue_hint"] is None
    assert payload["question"] == "怎么开户"
    assert slots(events) == {"last_question": "怎么开户", "last_queue": None, "last_faq_id": None}


async def test_failing_retrieval_escalates_and_logs(caplog):
    retriever = FakeRetriever(error=RuntimeError("faiss exploded"))

    with caplog.at_level(logging.ERROR):
        messages, _ = await run_action(ActionAnswerFaq(provider_of(retriever)), "怎么开户")

    assert only_payload(messages)["reason"] == "kb_unavailable"
    assert "faiss exploded" in caplog.text


async def test_load_failure_is_reported_as_unavailable():
    def failing_provider():
        raise KnowledgeBaseUnavailable("index mismatch")

    messages, _ = await run_action(ActionAnswerFaq(failing_provider), "怎么开户")
    assert only_payload(messages)["reason"] == "kb_unavailable"


async def test_empty_message_asks_for_the_question_without_retrieval():
    retriever = FakeRetriever(error=AssertionError("must not be called"))

    messages, events = await run_action(ActionAnswerFaq(provider_of(retriever)), "   ")

    assert [m["text"] for m in messages] == [EMPTY_QUESTION_TEXT]
    assert events == []
    assert retriever.questions == []


async def test_events_are_slot_sets(kcb_entry):
    retriever = FakeRetriever(make_retrieval("q", Band.ANSWER, [make_hit(kcb_entry)]))
    _, events = await run_action(ActionAnswerFaq(provider_of(retriever)), "q")
    assert all(event == SlotSet(event["name"], event["value"]) for event in events)


async def test_personal_numbers_are_neither_looked_up_nor_logged(kcb_entry, caplog):
    retriever = FakeRetriever(make_retrieval("手机号换了", Band.ANSWER, [make_hit(kcb_entry, 0.94)]))
    with caplog.at_level(logging.DEBUG):
        messages, _ = await run_action(ActionAnswerFaq(provider_of(retriever)), "手机号13812345678换了怎么改")
    assert retriever.questions == ["手机号 换了怎么改"]
    assert messages[0]["text"] == PRIVACY_TEXT and messages[1]["custom"]["type"] == "answer"
    assert "13812345678" not in caplog.text
