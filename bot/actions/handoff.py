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
from bot.actions.deps import RetrieverProvider, resolve, retrieve_or_none
from knowledge_base.models import FollowUpQueue
from knowledge_base.replies import EscalationReason, escalate_payload

ADVICE_INTENT = "request_advice"
ADVISOR_WORDS = ("投顾", "投资顾问", "顾问")
SERVICE_WORDS = ("客服",)


def named_queue(text: str) -> FollowUpQueue | None:
    """The queue the client names when asking for a person (在线投顾 / 在线客服), if any."""
    if any(word in text for word in ADVISOR_WORDS):
        return FollowUpQueue.ADVISOR
    if any(word in text for word in SERVICE_WORDS):
        return FollowUpQueue.SERVICE
    return None


class ActionRequestHandoff(Action):  # type: ignore[misc]
    """Advice requests go to a licensed advisor with a compliance notice. Requests for a person go
    to an advisor when the client names one, else to the last question's queue (looked up again if
    unknown), else to customer service when the client names it. Never answers itself."""

    def __init__(self, retriever: RetrieverProvider | None = None) -> None:
        self._retriever = retriever

    def name(self) -> str:
        return "action_request_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Event]:
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
                queue_hint=await self._queue_hint(latest_text(tracker), tracker, question),
                faq_id=slot_text(tracker, LAST_FAQ_ID),
            )
        )
        return []

    async def _queue_hint(self, request: str, tracker: Tracker, question: str | None) -> FollowUpQueue | None:
        """Where a request for a person should go (None lets routing decide).

        "人工客服" is said for any person, so the last question's queue outranks "客服"; a client who
        names an advisor (投顾) gets one."""
        named = named_queue(request)
        if named is FollowUpQueue.ADVISOR:
            return named
        known = last_queue(tracker)
        if known is not None:
            return known
        if question is not None:
            retrieval = await retrieve_or_none(resolve(self._retriever), question)
            if retrieval is not None and retrieval.queue_hint is not None:
                return retrieval.queue_hint
        return named
