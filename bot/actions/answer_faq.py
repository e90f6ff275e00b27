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
from knowledge_base.personal_data import mask_personal_data, remove_personal_data

logger = logging.getLogger(__name__)

EMPTY_QUESTION_TEXT = "请问您想咨询什么问题？请直接输入您的问题，我来为您解答。"
PRIVACY_TEXT = "温馨提示：为保护您的账户安全，请不要在对话中发送身份证号、手机号、银行卡号等个人信息。"


async def answer_question(dispatcher: CollectingDispatcher, text: str, retriever: RetrieverProvider) -> list[Event]:
    """Answer, suggest or escalate `text` by the knowledge base's bands; personal numbers never reach it
    (the client is reminded not to send them)."""
    question = remove_personal_data(text)
    if question != text.strip():
        dispatcher.utter_message(text=PRIVACY_TEXT)
    if not question:
        dispatcher.utter_message(text=EMPTY_QUESTION_TEXT)
        return []
    retrieval = await retrieve_or_none(retriever, question)
    if retrieval is None:
        logger.error("answering without the knowledge base: escalating %r", mask_personal_data(question)[:200])
        dispatcher.utter_message(
            json_message=escalate_payload(EscalationReason.KB_UNAVAILABLE, question=question, queue_hint=None)
        )
        return remember(question, None, None)
    dispatcher.utter_message(json_message=retrieval_payload(retrieval))
    top = retrieval.top
    if retrieval.band is Band.ANSWER and top is not None:
        return remember(question, top.entry.queue, top.entry.id)
    return remember(question, retrieval.queue_hint, None)


class ActionAnswerFaq(Action):  # type: ignore[misc]
    """Answers (band answer), suggests the top 3 entries (band suggest) or escalates (band escalate);
    escalates with reason kb_unavailable when the knowledge base cannot be used."""

    def __init__(self, retriever: RetrieverProvider | None = None) -> None:
        self._retriever = retriever

    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Event]:
        return await answer_question(dispatcher, latest_text(tracker), resolve(self._retriever))
