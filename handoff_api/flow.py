"""The conversation flow: a client message goes to the bot only in the bot state, else to the person serving."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from handoff_api.bot_client import BotClient, BotPayload, BotUnavailable
from routing.errors import ValidationFailed
from routing.models import Conversation, ConversationState, EscalationReason, Message, QueueName, SenderKind

log = logging.getLogger(__name__)

BOT_STATES = frozenset({ConversationState.BOT, ConversationState.RESOLVED})
"""Where a client's text goes to the bot (a resolved question's next message starts a new one)."""
RATED_HUMAN_STATES = frozenset(
    {ConversationState.WITH_AGENT, ConversationState.WITH_RESPONDER, ConversationState.RESOLVED}
)
"""Where 问题已解答 / 问题未解答 rate a human answer (while waiting for a person there is nothing to rate)."""
FEEDBACK_PAYLOADS = {"/feedback_resolved": True, "/feedback_unresolved": False}
BUTTON_TEXTS = {
    "/feedback_resolved": "问题已解答",
    "/feedback_unresolved": "问题未解答",
    "/ask_human": "转人工",
}


class ConversationRouting(Protocol):
    """The part of routing's service the flow drives."""

    async def get_conversation(self, conversation_id: str) -> Conversation: ...

    async def record_client_message(self, conversation_id: str, text: str) -> Message: ...

    async def record_bot_replies(
        self, conversation_id: str, payloads: Sequence[dict[str, object]]
    ) -> list[Message]: ...

    async def escalate_from_bot(
        self,
        conversation_id: str,
        reason: EscalationReason,
        queue_hint: QueueName | None,
        question: str,
    ) -> Conversation: ...

    async def client_feedback(self, conversation_id: str, resolved: bool) -> Conversation: ...

    async def rate_bot_answer(self, conversation_id: str, resolved: bool) -> Conversation: ...

    async def messages(
        self, conversation_id: str, viewer_id: str | None = None, after_seq: int = 0
    ) -> list[Message]: ...


@dataclass(frozen=True)
class FlowResult:
    """What one client message produced: the stored client message, the replies and the resulting state."""

    client_message: Message
    replies: list[Message]
    conversation: Conversation


class ConversationFlow:
    """Sends client text to tier 1 when the bot owns the conversation, and acts on its escalations."""

    def __init__(self, routing: ConversationRouting, bot: BotClient, max_chars: int) -> None:
        self._routing = routing
        self._bot = bot
        self._max_chars = max_chars

    def check_text(self, text: str) -> str:
        """The trimmed text, or ValidationFailed for empty or oversized text."""
        stripped = text.strip()
        if not stripped:
            raise ValidationFailed("text must not be empty")
        if len(stripped) > self._max_chars:
            raise ValidationFailed(f"text is longer than {self._max_chars} characters")
        return stripped

    async def client_message(self, conversation_id: str, text: str) -> FlowResult:
        """Store the client's message first (so nothing is lost), then let the bot answer if it owns the turn.

        Button payloads (``/feedback_resolved``, ``/feedback_unresolved``, ``/ask_human``) are stored as the
        words the client clicked; with a human serving, feedback goes to routing instead of the bot.
        """
        clean = self.check_text(text)
        conversation = await self._routing.get_conversation(conversation_id)
        shown = BUTTON_TEXTS.get(clean, clean)
        feedback = FEEDBACK_PAYLOADS.get(clean)
        state = conversation.state
        if feedback is not None and state in RATED_HUMAN_STATES:
            return await self._human_feedback(conversation, shown, feedback)
        stored = await self._routing.record_client_message(conversation_id, shown)
        if state not in BOT_STATES:
            return FlowResult(stored, [], await self._routing.get_conversation(conversation_id))
        if feedback is not None:
            await self._routing.rate_bot_answer(conversation_id, feedback)
        payloads = await self._bot.send(conversation_id, clean)
        replies = await self._routing.record_bot_replies(conversation_id, payloads)
        for payload in payloads:
            if payload.get("type") == "escalate":
                await self._escalate(conversation_id, payload, clean)
        return FlowResult(stored, replies, await self._routing.get_conversation(conversation_id))

    async def _human_feedback(self, conversation: Conversation, shown: str, resolved: bool) -> FlowResult:
        """Rate a human answer: routing moves it first (storing a message after a resolve returns it to the bot)."""
        if conversation.state == ConversationState.RESOLVED:
            await self._routing.client_feedback(conversation.id, resolved)
            stored = await self._routing.record_client_message(conversation.id, shown)
        else:
            stored = await self._routing.record_client_message(conversation.id, shown)
            await self._routing.client_feedback(conversation.id, resolved)
        return FlowResult(stored, [], await self._routing.get_conversation(conversation.id))

    async def feedback(self, conversation_id: str, resolved: bool) -> FlowResult:
        """The client's 问题已解答 / 问题未解答, whoever is serving."""
        return await self.client_message(conversation_id, "/feedback_resolved" if resolved else "/feedback_unresolved")

    async def _escalate(self, conversation_id: str, payload: BotPayload, text: str) -> None:
        reason = _reason(payload.get("reason"))
        hint = _queue(payload.get("queue_hint"))
        question = payload.get("question")
        if not isinstance(question, str) or not question.strip():
            question = text if text not in BUTTON_TEXTS else await self._last_question(conversation_id)
        await self._routing.escalate_from_bot(conversation_id, reason, hint, question)

    async def _last_question(self, conversation_id: str) -> str:
        """The client's last real question (button clicks are stored as their words and skipped)."""
        clicked = set(BUTTON_TEXTS.values())
        for message in reversed(await self._routing.messages(conversation_id)):
            if message.sender == SenderKind.CLIENT and message.text not in clicked:
                return message.text
        return ""


def _reason(value: Any) -> EscalationReason:
    try:
        return EscalationReason(value)
    except ValueError:
        log.warning("bot sent unknown escalation reason %r; treating as low_score", value)
        return EscalationReason.LOW_SCORE


def _queue(value: Any) -> QueueName | None:
    try:
        return QueueName(value) if value else None
    except ValueError:
        return None


__all__ = ["BotUnavailable", "ConversationFlow", "FlowResult"]
