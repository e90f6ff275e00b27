"""The conversation flow: a client's turn goes to the bot only when the bot owns the conversation.

Every turn stores the client's words first (so nothing is lost), then acts: the bot answers when it
owns the conversation (routing.state_machine.bot_owns), a rating of a person's answer goes to
routing, and any other text waits for the person serving. `handle` does both; a channel that shows
the client's words before the answer (the widget) calls `accept`, then `respond`.

A turn may carry the client's own message id. Sent again (the client never saw the answer: a worker
died, the network dropped), it is not stored twice: the replies it already got are returned, and only
a turn that died before the bot answered is answered now.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from handoff_api.bot_client import BotClient, BotPayload, BotUnavailable, rasa_trigger
from handoff_api.client_input import BUTTON_WORDS, ClientInput, Rating, Utterance, parse_client_text
from handoff_api.observability.logging import conversation_context
from routing.errors import DuplicateClientMessage, ValidationFailed
from routing.models import Conversation, ConversationState, EscalationReason, Message, QueueName, SenderKind
from routing.state_machine import bot_owns, rates_human

log = logging.getLogger(__name__)


class ConversationRouting(Protocol):
    """The part of routing's service the flow drives."""

    async def get_conversation(self, conversation_id: str) -> Conversation: ...

    async def record_client_message(
        self, conversation_id: str, text: str, client_msg_id: str | None = None
    ) -> Message: ...

    async def messages_after(self, conversation_id: str, after_seq: int, limit: int = 200) -> list[Message]: ...

    async def next_question(self, conversation_id: str) -> Conversation: ...

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

    async def latest_client_texts(self, conversation_id: str, limit: int) -> list[str]: ...


class BotTurnObserver(Protocol):
    """Told of every bot turn (the learning loop's evidence); must return at once and never raise."""

    def bot_turn(self, conversation_id: str, turn: ClientInput, payloads: Sequence[BotPayload]) -> None: ...


@dataclass(frozen=True)
class AcceptedTurn:
    """A turn whose words are stored: what `respond` acts on."""

    turn: ClientInput
    client_message: Message
    opened_in: Conversation
    """The conversation as the turn found it."""
    conversation: Conversation
    """The conversation the turn is answered in (the bot owns it again after a resolved question)."""
    answered: list[Message] | None = None
    """For a resent message already answered: the replies it got (`respond` returns them, asking no one)."""

    @property
    def resent(self) -> bool:
        """Whether this turn is a resend of a message already stored."""
        return self.answered is not None


@dataclass(frozen=True)
class FlowResult:
    """What one client turn produced: the stored client message, the replies and the resulting state."""

    client_message: Message
    replies: list[Message]
    conversation: Conversation


class ConversationFlow:
    """Sends client turns to tier 1 when the bot owns the conversation, and acts on its escalations."""

    def __init__(
        self, routing: ConversationRouting, bot: BotClient, max_chars: int, observer: BotTurnObserver | None = None
    ) -> None:
        self._routing = routing
        self._bot = bot
        self._max_chars = max_chars
        self._observer = observer

    def check_text(self, text: str) -> str:
        """The trimmed text, or ValidationFailed for empty or oversized text."""
        stripped = text.strip()
        if not stripped:
            raise ValidationFailed("text must not be empty")
        if len(stripped) > self._max_chars:
            raise ValidationFailed(f"text is longer than {self._max_chars} characters")
        return stripped

    def read_text(self, text: str) -> ClientInput:
        """A checked text turn; a bot button's payload counts as the click it stands for."""
        return parse_client_text(self.check_text(text))

    async def client_message(
        self,
        conversation_id: str,
        text: str,
        client_msg_id: str | None = None,
        *,
        just_read: Conversation | None = None,
    ) -> FlowResult:
        """A text turn (checked here, once); a resend with the same `client_msg_id` is answered once.

        `just_read`: the conversation as the caller read it for this very request (not read again).
        """
        return await self.handle(conversation_id, self.read_text(text), client_msg_id, just_read=just_read)

    async def feedback(self, conversation_id: str, resolved: bool) -> FlowResult:
        """The client's 问题已解答 / 问题未解答, whoever is serving."""
        return await self.handle(conversation_id, Rating(resolved))

    async def handle(
        self,
        conversation_id: str,
        turn: ClientInput,
        client_msg_id: str | None = None,
        *,
        just_read: Conversation | None = None,
    ) -> FlowResult:
        """Store the client's words, then let the bot answer, or routing act on a rating of a person."""
        return await self.respond(await self.accept(conversation_id, turn, client_msg_id, just_read=just_read))

    async def accept(
        self,
        conversation_id: str,
        turn: ClientInput,
        client_msg_id: str | None = None,
        *,
        just_read: Conversation | None = None,
    ) -> AcceptedTurn:
        """Store the client's words (a new question after a resolved one gives the conversation back to the bot)."""
        with conversation_context(conversation_id):
            return await self._accept(conversation_id, turn, client_msg_id, just_read)

    async def _accept(
        self, conversation_id: str, turn: ClientInput, client_msg_id: str | None, just_read: Conversation | None
    ) -> AcceptedTurn:
        if just_read is not None and just_read.id == conversation_id:
            opened_in = conversation = just_read
        else:
            opened_in = conversation = await self._routing.get_conversation(conversation_id)
        if isinstance(turn, Rating) and rates_human(conversation.state):
            stored = await self._routing.record_client_message(conversation_id, turn.words)
            return AcceptedTurn(turn, stored, opened_in, conversation)
        if conversation.state == ConversationState.RESOLVED:
            conversation = await self._routing.next_question(conversation_id)
        try:
            stored = await self._routing.record_client_message(conversation_id, _words(turn), client_msg_id)
        except DuplicateClientMessage as resent:
            return await self._resent(turn, resent.existing, opened_in)
        return AcceptedTurn(turn, stored, opened_in, conversation)

    async def _resent(self, turn: ClientInput, stored: Message, opened_in: Conversation) -> AcceptedTurn:
        """A resend: what answered the stored message (up to the client's next one), or a turn still to answer."""
        conversation = await self._routing.get_conversation(stored.conversation_id)
        answered: list[Message] = []
        for message in await self._routing.messages_after(stored.conversation_id, stored.seq):
            if message.sender == SenderKind.CLIENT:
                break
            answered.append(message)
        if answered or not bot_owns(conversation.state):
            return AcceptedTurn(turn, stored, conversation, conversation, answered=answered)
        return AcceptedTurn(turn, stored, opened_in, conversation)

    async def respond(self, accepted: AcceptedTurn) -> FlowResult:
        """Act on a stored turn: routing takes a rating of a person, the bot answers when it owns the conversation."""
        with conversation_context(accepted.conversation.id):
            return await self._respond(accepted)

    async def _respond(self, accepted: AcceptedTurn) -> FlowResult:
        turn, stored, conversation = accepted.turn, accepted.client_message, accepted.conversation
        conversation_id = conversation.id
        if accepted.answered is not None:
            return FlowResult(stored, accepted.answered, conversation)
        if isinstance(turn, Rating) and rates_human(accepted.opened_in.state):
            after = await self._routing.client_feedback(conversation_id, turn.resolved)
            return FlowResult(stored, [], after)
        if not bot_owns(conversation.state):
            return FlowResult(stored, [], conversation)
        if isinstance(turn, Rating):
            await self._routing.rate_bot_answer(conversation_id, turn.resolved)
        payloads = await self._bot.send(conversation_id, rasa_trigger(turn))
        replies = await self._routing.record_bot_replies(conversation_id, payloads)
        if self._observer is not None:
            self._observer.bot_turn(conversation_id, turn, payloads)
        for payload in payloads:
            if payload.get("type") == "escalate":
                conversation = await self._escalate(conversation_id, payload, turn)
        return FlowResult(stored, replies, conversation)

    async def _escalate(self, conversation_id: str, payload: BotPayload, turn: ClientInput) -> Conversation:
        question = payload.get("question")
        if not isinstance(question, str) or not question.strip():
            question = turn.text if isinstance(turn, Utterance) else await self._last_question(conversation_id)
        return await self._routing.escalate_from_bot(
            conversation_id, _reason(payload.get("reason")), _queue(payload.get("queue_hint")), question
        )

    async def _last_question(self, conversation_id: str) -> str:
        """The client's latest real question (clicked buttons are stored as their words and skipped)."""
        for text in await self._routing.latest_client_texts(conversation_id, limit=20):
            if text not in BUTTON_WORDS:
                return text
        return ""


def _words(turn: ClientInput) -> str:
    return turn.text if isinstance(turn, Utterance) else turn.words


def _reason(value: Any) -> EscalationReason:
    try:
        return EscalationReason(value)
    except ValueError:
        log.warning("bot sent an unknown escalation reason; treating it as low_score")
        return EscalationReason.LOW_SCORE


def _queue(value: Any) -> QueueName | None:
    try:
        return QueueName(value) if value else None
    except ValueError:
        return None


__all__ = ["AcceptedTurn", "BotUnavailable", "ConversationFlow", "FlowResult"]
