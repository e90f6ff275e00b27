from __future__ import annotations

from bot.actions.conversation import last_queue, latest_intent, latest_text, remember, slot_text
from knowledge_base.models import FollowUpQueue
from tests.bot.conftest import make_tracker


def test_latest_text_strips_and_ignores_button_payloads():
    assert latest_text(make_tracker("  怎么开户 ", "question")) == "怎么开户"
    assert latest_text(make_tracker("/feedback_resolved", "feedback_resolved")) == ""


def test_latest_text_without_a_message():
    tracker = make_tracker("x", "question")
    tracker.latest_message = {}
    assert latest_text(tracker) == ""
    assert latest_intent(tracker) is None


def test_latest_intent_includes_fallback():
    assert latest_intent(make_tracker("啊啊", "nlu_fallback")) == "nlu_fallback"


def test_slot_text_treats_blank_as_unset():
    tracker = make_tracker("x", "question", {"last_question": "  ", "last_faq_id": "e1", "last_queue": 5})
    assert slot_text(tracker, "last_question") is None
    assert slot_text(tracker, "last_faq_id") == "e1"
    assert slot_text(tracker, "last_queue") is None
    assert slot_text(tracker, "missing") is None


def test_last_queue_parses_the_slot():
    assert last_queue(make_tracker("x", "q", {"last_queue": "advisor"})) is FollowUpQueue.ADVISOR
    assert last_queue(make_tracker("x", "q")) is None


def test_remember_sets_all_three_slots():
    events = remember("怎么开户", FollowUpQueue.SERVICE, "cs-open-account")
    assert {e["name"]: e["value"] for e in events} == {
        "last_question": "怎么开户",
        "last_queue": "service",
        "last_faq_id": "cs-open-account",
    }
    assert {e["name"]: e["value"] for e in remember(None, None, "")} == {
        "last_question": None,
        "last_queue": None,
        "last_faq_id": None,
    }
