"""action_request_handoff: the client asks for a person, or for advice a bot must not give."""

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
    latest_text,
    remember,
    slot_text,
)
from bot.actions.deps import RetrieverProvider, default_retriever, retrieve_or_none
from bot.actions.payloads import EscalationReason, escalate_payload
from knowledge_base.models import FollowUpQueue

ADVICE_INTENT = "request_advice"


class ActionRequestHandoff(Action):  # type: ignore[misc]
    """Advice requests go to a licensed advisor with a compliance notice; requests for a person go
    to the queue of the last question (looked up again if unknown). Never answers itself."""

    def __init__(self, retriever: RetrieverProvider | None = None) -> None:
        self._retriever = retriever or default_retriever

    def name(self) -> str:
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[Event]:
        if latest_intent(tracker) == ADVICE_INTENT:
            question = latest_text(tracker) or None
            dispatcher.utter_message(
                json_message=escalate_payload(
                    EscalationReason.ADVICE_REQUEST, question=question, queue_hint=FollowUpQueue.ADVISOR
                )
            )
            return remember(question, FollowUpQueue.ADVISOR, None)
        question = slot_text(tracker, LAST_QUESTION)
        dispatcher.utter_message(
            json_message=escalate_payload(
                EscalationReason.ASKED_HUMAN,
                question=question or latest_text(tracker) or None,
                queue_hint=await self._queue_hint(tracker, question),
                faq_id=slot_text(tracker, LAST_FAQ_ID),
            )
        )
        return []

    async def _queue_hint(self, tracker: Tracker, question: str | None) -> FollowUpQueue | None:
        """The last question's queue; else the queue the knowledge base suggests for it; else None."""
        known = last_queue(tracker)
        if known is not None or question is None:
            return known
        retrieval = await retrieve_or_none(self._retriever, question)
        return retrieval.queue_hint if retrieval is not None else None
