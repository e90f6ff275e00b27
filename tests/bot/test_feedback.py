from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from bot.actions.feedback import ActionFeedback
from tests.bot.conftest import make_tracker

ANSWERED_SLOTS = {
    "last_faq_id": "bg-kcb-threshold",
    "last_queue": "service",
    "last_question": "科创板怎么开通",
}


async def run_feedback(text: str, intent: str, slots=None):
    dispatcher = CollectingDispatcher()
    events = await ActionFeedback().run(dispatcher, make_tracker(text, intent, slots), {})
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]["custom"], events


def test_name():
    assert ActionFeedback().name() == "action_feedback"


async def test_resolved_thanks_the_client_with_the_faq_id():
    payload, events = await run_feedback("/feedback_resolved", "feedback_resolved", ANSWERED_SLOTS)

    assert payload["type"] == "feedback"
    assert payload["resolved"] is True
    assert payload["faq_id"] == "bg-kcb-threshold"
    assert "很高兴" in payload["text"]
    assert events == []


async def test_unresolved_escalates_the_last_question_to_its_queue():
    payload, _ = await run_feedback("还是不懂", "feedback_unresolved", ANSWERED_SLOTS)

    assert payload["type"] == "escalate"
    assert payload["reason"] == "client_unresolved"
    assert payload["queue_hint"] == "service"
    assert payload["question"] == "科创板怎么开通"
    assert payload["faq_id"] == "bg-kcb-threshold"
    assert payload["score"] is None
    assert "在线客服" in payload["text"]


async def test_unresolved_after_an_advisor_question_goes_to_the_advisors():
    slots = {"last_question": "什么是资产配置", "last_queue": "advisor", "last_faq_id": "si-asset"}
    payload, _ = await run_feedback("/feedback_unresolved", "feedback_unresolved", slots)
    assert payload["queue_hint"] == "advisor"


async def test_unresolved_without_history_still_escalates():
    payload, _ = await run_feedback("没解决", "feedback_unresolved")

    assert payload["reason"] == "client_unresolved"
    assert payload["queue_hint"] is None
    assert payload["question"] is None
    assert payload["faq_id"] is None


async def test_unknown_queue_slot_is_ignored():
    slots = {**ANSWERED_SLOTS, "last_queue": "somewhere"}
    payload, _ = await run_feedback("没解决", "feedback_unresolved", slots)
    assert payload["queue_hint"] is None
