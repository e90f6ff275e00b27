"""Reading the conversation from a rasa-sdk tracker and the slots the actions keep."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from knowledge_base.models import FollowUpQueue
from knowledge_base.replies import parse_queue

LAST_FAQ_ID = "last_faq_id"
LAST_QUEUE = "last_queue"
LAST_QUESTION = "last_question"

Event = dict[str, Any]


INTENT_PAYLOAD_PREFIX = "/"


def latest_text(tracker: Tracker) -> str:
    """The client's latest message, stripped; '' if there is none or it is a button payload
    such as ``/ask_human`` (which carries an intent, not the client's words)."""
    text = (tracker.latest_message or {}).get("text")
    if not isinstance(text, str) or text.strip().startswith(INTENT_PAYLOAD_PREFIX):
        return ""
    return text.strip()


def latest_intent(tracker: Tracker) -> str | None:
    """The intent NLU gave the latest message (may be ``nlu_fallback``)."""
    intent = (tracker.latest_message or {}).get("intent") or {}
    name = intent.get("name") if isinstance(intent, dict) else None
    return name if isinstance(name, str) else None


def slot_text(tracker: Tracker, name: str) -> str | None:
    """A text slot's value, None if unset or blank."""
    value = tracker.get_slot(name)
    return value.strip() or None if isinstance(value, str) else None


def last_queue(tracker: Tracker) -> FollowUpQueue | None:
    """The follow-up queue of the last question handled, if any."""
    return parse_queue(tracker.get_slot(LAST_QUEUE))


def remember(question: str | None, queue: FollowUpQueue | None, faq_id: str | None) -> list[Event]:
    """Slot events recording the question just handled, its queue and the FAQ answered."""
    events: list[Event] = [
        SlotSet(LAST_QUESTION, question or None),
        SlotSet(LAST_QUEUE, queue.value if queue is not None else None),
        SlotSet(LAST_FAQ_ID, faq_id or None),
    ]
    return events
