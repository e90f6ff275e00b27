"""action_answer_faq: answer a client question from the knowledge base, by score band."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.conversation import Event, latest_text, remember
from bot.actions.deps import RetrieverProvider, resolve, retrieve_or_none
from bot.actions.payloads import EscalationReason, escalate_payload, retrieval_payload
from knowledge_base.models import Band

logger = logging.getLogger(__name__)

EMPTY_QUESTION_TEXT = "请问您想咨询什么问题？请直接输入您的问题，我来为您解答。"


class ActionAnswerFaq(Action):  # type: ignore[misc]
    """Answers (band answer), suggests the top 3 entries (band suggest) or escalates (band escalate);
    escalates with reason kb_unavailable when the knowledge base cannot be used."""

    def __init__(self, retriever: RetrieverProvider | None = None) -> None:
        self._retriever = retriever

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Event]:
        question = latest_text(tracker)
        if not question:
            dispatcher.utter_message(text=EMPTY_QUESTION_TEXT)
            return []
        retrieval = await retrieve_or_none(resolve(self._retriever), question)
        if retrieval is None:
            logger.error("answering without the knowledge base: escalating %r", question)
            dispatcher.utter_message(
                json_message=escalate_payload(EscalationReason.KB_UNAVAILABLE, question=question, queue_hint=None)
            )
            return remember(question, None, None)
        dispatcher.utter_message(json_message=retrieval_payload(retrieval))
        top = retrieval.top
        if retrieval.band is Band.ANSWER and top is not None:
            return remember(question, top.entry.queue, top.entry.id)
        return remember(question, retrieval.queue_hint, None)
