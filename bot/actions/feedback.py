"""action_feedback: the client's answer to "was your question resolved?"."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.conversation import (
    LAST_FAQ_ID,
    LAST_QUESTION,
    Event,
    last_queue,
    latest_intent,
    slot_text,
)
from knowledge_base.replies import EscalationReason, escalate_payload, feedback_payload

RESOLVED_INTENT = "feedback_resolved"


class ActionFeedback(Action):  # type: ignore[misc]
    """Resolved: thank the client. Anything else: escalate the last question one tier up."""

    def name(self) -> str:
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Event]:
        faq_id = slot_text(tracker, LAST_FAQ_ID)
        if latest_intent(tracker) == RESOLVED_INTENT:
            dispatcher.utter_message(json_message=feedback_payload(faq_id))
            return []
        dispatcher.utter_message(
            json_message=escalate_payload(
                EscalationReason.CLIENT_UNRESOLVED,
                question=slot_text(tracker, LAST_QUESTION),
                queue_hint=last_queue(tracker),
                faq_id=faq_id,
            )
        )
        return []
