"""REST path for integrations: open a conversation, send client messages, read the transcript."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from handoff_api.deps import ContainerDep
from handoff_api.schemas import (
    ConversationOut,
    FactsOut,
    Feedback,
    MessageOut,
    MessageReplies,
    NewConversation,
    NewMessage,
    Transcript,
)

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


@router.post("", status_code=status.HTTP_201_CREATED)
async def open_conversation(body: NewConversation, container: ContainerDep) -> ConversationOut:
    """Open a conversation for a known client; it starts with the robot advisor."""
    conversation = await container.routing.start_conversation(body.client_id, body.channel)
    return ConversationOut.of(conversation)


@router.get("/{conversation_id}")
async def get_conversation(conversation_id: str, container: ContainerDep) -> ConversationOut:
    """The conversation's current state."""
    return ConversationOut.of(await container.routing.get_conversation(conversation_id))


@router.get("/{conversation_id}/facts")
async def facts(conversation_id: str, container: ContainerDep) -> FactsOut:
    """Queue position, estimated wait (from recent handle times) and who is serving."""
    return FactsOut.of(await container.routing.client_facts(conversation_id))


@router.post("/{conversation_id}/messages")
async def send_message(conversation_id: str, body: NewMessage, container: ContainerDep) -> MessageReplies:
    """Store the client's message and return what it produced (bot replies, or none while a human serves)."""
    result = await container.flow.client_message(conversation_id, body.text)
    return MessageReplies(
        message=MessageOut.of(result.client_message),
        replies=[MessageOut.of(reply) for reply in result.replies],
        conversation=ConversationOut.of(result.conversation),
    )


@router.post("/{conversation_id}/feedback")
async def send_feedback(conversation_id: str, body: Feedback, container: ContainerDep) -> MessageReplies:
    """问题已解答 / 问题未解答: resolved closes the question, unresolved moves it one tier up."""
    result = await container.flow.feedback(conversation_id, body.resolved)
    return MessageReplies(
        message=MessageOut.of(result.client_message),
        replies=[MessageOut.of(reply) for reply in result.replies],
        conversation=ConversationOut.of(result.conversation),
    )


@router.get("/{conversation_id}/messages")
async def transcript(
    conversation_id: str,
    container: ContainerDep,
    after: int = Query(default=0, ge=0, description="only messages with a larger seq"),
) -> Transcript:
    """The transcript in order, optionally after a seen message seq (for resuming)."""
    messages = await container.routing.messages(conversation_id, after_seq=after)
    return Transcript(conversation_id=conversation_id, messages=[MessageOut.of(m) for m in messages])
