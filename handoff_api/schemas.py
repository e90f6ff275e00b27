"""HTTP shapes of the API (pydantic), kept apart from the domain records they translate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from handoff_api.inputs import CleanText, RequestBody
from routing.models import Channel, Conversation, Message
from routing.service import ClientFacts


class ServedByOut(BaseModel):
    """Who served an answer."""

    tier: int
    staff_id: str | None
    at: datetime


class MessageOut(BaseModel):
    """One transcript message."""

    id: str
    seq: int
    sender: str
    text: str
    payload: dict[str, Any]
    created_at: datetime
    served_by: ServedByOut | None

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        """From the domain record."""
        served = message.served_by
        return cls(
            id=message.id,
            seq=message.seq,
            sender=message.sender.value,
            text=message.text,
            payload=dict(message.payload),
            created_at=message.created_at,
            served_by=ServedByOut(tier=int(served.tier), staff_id=served.staff_id, at=served.at) if served else None,
        )


class ConversationOut(BaseModel):
    """A conversation and where it stands."""

    id: str
    client_id: str
    channel: str
    state: str
    tier: int
    queue: str | None
    assignee_id: str | None
    ticket_id: str | None
    escalation_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationOut:
        """From the domain record."""
        return cls(
            id=conversation.id,
            client_id=conversation.client_id,
            channel=conversation.channel.value,
            state=conversation.state.value,
            tier=int(conversation.tier),
            queue=conversation.queue.value if conversation.queue else None,
            assignee_id=conversation.assignee_id,
            ticket_id=conversation.ticket_id,
            escalation_reason=conversation.escalation_reason.value if conversation.escalation_reason else None,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
        )


class ServingOut(BaseModel):
    """Who serves the client now (practice number for licensed advisors)."""

    name: str
    role: str
    practice_number: str | None


class FactsOut(BaseModel):
    """What the client sees at any moment: state, queue position, estimated wait and who serves."""

    conversation_id: str
    state: str
    tier: int
    queue: str | None
    position: int | None
    estimated_wait_seconds: float | None
    serving: ServingOut | None

    @classmethod
    def of(cls, facts: ClientFacts) -> FactsOut:
        """From routing's view."""
        serving = facts.serving
        return cls(
            conversation_id=facts.conversation_id,
            state=facts.state.value,
            tier=int(facts.tier),
            queue=facts.queue.value if facts.queue else None,
            position=facts.position,
            estimated_wait_seconds=round(facts.estimated_wait_seconds, 1)
            if facts.estimated_wait_seconds is not None
            else None,
            serving=ServingOut(name=serving.name, role=serving.role.value, practice_number=serving.practice_number)
            if serving
            else None,
        )


class NewConversation(RequestBody):
    """Open (or find the open) REST conversation of a client; its channel is always `api`."""

    client_id: CleanText | None = Field(default=None, min_length=1, max_length=64)
    """Required with an API key; with a client token, the token's client (if given, it must be the same)."""
    channel: CleanText | None = None
    """Optional and only ever "api": WeCom conversations come from WeCom, widget ones from the widget."""

    @field_validator("channel")
    @classmethod
    def _only_api(cls, value: str | None) -> str | None:
        if value not in (None, Channel.API.value):
            raise ValueError(
                "REST conversations use the channel 'api'; only WeCom opens WeCom conversations "
                "and only the widget opens widget ones"
            )
        return value


class NewMessage(RequestBody):
    """A client's message; length limits are checked by the flow so the error names the setting."""

    text: CleanText
    client_msg_id: CleanText | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="the client's own id for this message: sent again (say, after a timeout), the message is "
        "stored once and its replies are returned again",
    )


class Feedback(RequestBody):
    """The client's answer to 问题已解答 / 问题未解答."""

    resolved: bool


class MessageReplies(BaseModel):
    """The client message as stored, the replies it produced and the conversation afterwards."""

    message: MessageOut
    replies: list[MessageOut]
    conversation: ConversationOut


class Transcript(BaseModel):
    """One page of messages, in seq order."""

    conversation_id: str
    messages: list[MessageOut]
    has_older: bool = Field(default=False, description="messages before this page exist: ask again with before")


class RatingIn(RequestBody):
    """The client's 1–5 rating of the question just resolved."""

    score: int = Field(ge=1, le=5)


class RatingOut(BaseModel):
    """A stored satisfaction rating."""

    conversation_id: str
    score: int
    tier: int
    staff_id: str | None
    at: datetime
