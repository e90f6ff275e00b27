"""The client's use cases: conversations, messages, the next question, rating and feedback."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from routing.errors import Forbidden, IllegalTransition, ValidationFailed
from routing.events import Typing
from routing.models import (
    Channel,
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
    SenderKind,
    ServedBy,
    Tier,
)
from routing.ports import Clock
from routing.records import Record, StateGuard
from routing.service import access
from routing.service.intake import Intake
from routing.service.journal import CLIENT_ACTOR, Journal
from routing.service.lookups import Lookups
from routing.service.outcomes import Outcomes
from routing.service.pages import NEWEST, PageRequest, TranscriptPage, read_page
from routing.state_machine import TransitionName, can_rate, is_open

S = ConversationState
CLIENT_MAY_WRITE = StateGuard("client_message", frozenset(state for state in S if is_open(state)))
"""A client writes in any open conversation."""
BOT_MAY_REPLY = StateGuard("bot_reply", frozenset({S.BOT}))
"""The bot replies only while it owns the conversation."""


@dataclass(frozen=True)
class OpenedConversation:
    """The client's open conversation on a channel, and whether this call started it."""

    conversation: Conversation
    created: bool


class ClientUseCases:
    """What the client's channels (widget, WeCom) call."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self, record: Record, lookups: Lookups, journal: Journal, intake: Intake, outcomes: Outcomes, clock: Clock
    ) -> None:
        self._record = record
        self._lookups = lookups
        self._journal = journal
        self._intake = intake
        self._outcomes = outcomes
        self._clock = clock

    async def open_conversation(self, client_id: str, channel: Channel) -> OpenedConversation:
        """The client's conversation on `channel` that is not closed, else a new one in the bot state.

        One client has at most one open conversation per channel, however many workers open at once;
        NotFound for an unknown client.
        """
        client = await self._lookups.client(client_id)
        now = self._clock.now()
        candidate = Conversation(
            id=uuid.uuid4().hex,
            client_id=client.id,
            channel=channel,
            state=S.BOT,
            tier=Tier.BOT,
            created_at=now,
            updated_at=now,
        )
        conversation, created = await self._journal.open_conversation(candidate)
        return OpenedConversation(conversation, created)

    async def start_conversation(self, client_id: str, channel: Channel) -> Conversation:
        """The client's open conversation on `channel`, or a new one (see `open_conversation`)."""
        return (await self.open_conversation(client_id, channel)).conversation

    async def resume_conversation(self, client_id: str, conversation_id: str) -> Conversation | None:
        """The client's own open conversation with this id; None if unknown or closed, Forbidden if another's."""
        conversation = await self._lookups.find_conversation(conversation_id)
        if conversation is None:
            return None
        if conversation.client_id != client_id:
            raise Forbidden("conversation belongs to another client")
        return conversation if is_open(conversation.state) else None

    async def client_typing(self, conversation_id: str) -> None:
        """Tell whoever serves the conversation that the client is typing."""
        await self._journal.publish(Typing(conversation_id, SenderKind.CLIENT.value))

    async def get_conversation(self, conversation_id: str, viewer_id: str | None = None) -> Conversation:
        """The conversation; with `viewer_id`, Forbidden unless that staff member may see it."""
        conversation = await self._lookups.conversation(conversation_id)
        if viewer_id is not None:
            viewer = await self._lookups.staff(viewer_id)
            access.check_can_view(viewer, conversation, await self._lookups.client_of(conversation))
        return conversation

    async def transcript(
        self, conversation_id: str, viewer_id: str | None = None, page: PageRequest = NEWEST
    ) -> TranscriptPage:
        """A page of the transcript, the newest by default (access-checked when a staff viewer is given)."""
        await self.get_conversation(conversation_id, viewer_id)
        return await read_page(self._record, conversation_id, page)

    async def record_client_message(self, conversation_id: str, text: str, client_msg_id: str | None = None) -> Message:
        """Store a client message in any open state (it never changes the state: see `next_question`).

        With the client's own `client_msg_id`, a resend of a stored message raises DuplicateClientMessage.
        """
        if not text.strip():
            raise ValidationFailed("a message needs text")
        return await self._journal.append(
            conversation_id, SenderKind.CLIENT, text, client_msg_id=client_msg_id, only_in=CLIENT_MAY_WRITE
        )

    async def latest_client_texts(self, conversation_id: str, limit: int = 20) -> list[str]:
        """What the client wrote last, newest first (at most `limit` messages)."""
        latest = await self._record.latest_messages(conversation_id, limit=limit, sender=SenderKind.CLIENT)
        return [message.text for message in reversed(latest)]

    async def next_question(self, conversation_id: str) -> Conversation:
        """After a resolved question the client asks another: the bot owns the conversation again."""
        conversation = await self._lookups.conversation(conversation_id)
        if conversation.state == S.BOT:
            return conversation
        if conversation.state != S.RESOLVED:
            raise IllegalTransition("next_question", conversation.state.value)
        return await self._journal.move(conversation, TransitionName.RETURN_TO_BOT, CLIENT_ACTOR, "next question")

    async def record_bot_replies(self, conversation_id: str, payloads: Sequence[dict[str, object]]) -> list[Message]:
        """Store the bot's replies; only in the bot state, checked as each is stored (a human is never talked over)."""
        if not payloads:
            BOT_MAY_REPLY.check((await self._lookups.conversation(conversation_id)).state)
        stored = []
        for payload in payloads:
            text = payload.get("text")
            served = ServedBy(Tier.BOT, None, self._clock.now())
            body = text if isinstance(text, str) else ""
            stored.append(
                await self._journal.append(
                    conversation_id, SenderKind.BOT, body, dict(payload), served, only_in=BOT_MAY_REPLY
                )
            )
        return stored

    async def rate_bot_answer(self, conversation_id: str, resolved: bool) -> Conversation:
        """Record the client's rating of a bot answer only; the bot's own escalation moves the conversation."""
        conversation = await self._lookups.conversation(conversation_id)
        if conversation.state != S.BOT:
            raise IllegalTransition("rate_bot_answer", conversation.state.value)
        await self._journal.record_feedback(conversation, resolved)
        return conversation

    async def client_feedback(self, conversation_id: str, resolved: bool) -> Conversation:
        """问题已解答 / 问题未解答: record who it rates; "not resolved" moves one tier up."""
        conversation = await self._lookups.conversation(conversation_id)
        if not can_rate(conversation.state):
            raise IllegalTransition("client_feedback", conversation.state.value)
        await self._journal.record_feedback(conversation, resolved)
        if conversation.state == S.BOT:
            return conversation if resolved else await self._bot_unresolved(conversation)
        if resolved:
            return await self._confirmed(conversation)
        return await self._human_unresolved(conversation)

    async def _bot_unresolved(self, conversation: Conversation) -> Conversation:
        """The bot's answer did not help: escalate with the client's last text as the question."""
        question = await self._lookups.last_client_text(conversation.id)
        return await self._intake.escalate_from_bot(conversation.id, EscalationReason.CLIENT_UNRESOLVED, None, question)

    async def _confirmed(self, conversation: Conversation) -> Conversation:
        """The client says a person's answer resolved it: resolve it (or, already resolved, back to the bot)."""
        if conversation.state == S.RESOLVED:
            return await self._journal.move(
                conversation, TransitionName.RETURN_TO_BOT, CLIENT_ACTOR, "client confirmed resolved"
            )
        return await self._outcomes.resolve(conversation, CLIENT_ACTOR)

    async def _human_unresolved(self, conversation: Conversation) -> Conversation:
        """Not resolved by a person: tier 2 hands it to tier 3; a resolved tier-3 question reopens."""
        if conversation.tier == Tier.ONLINE:
            return await self._outcomes.unresolved(conversation, CLIENT_ACTOR, EscalationReason.CLIENT_UNRESOLVED)
        if conversation.state == S.RESOLVED:
            return await self._outcomes.reopen(conversation, CLIENT_ACTOR)
        return conversation
