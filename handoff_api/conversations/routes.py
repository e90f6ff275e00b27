"""REST path for integrations and client apps: open a conversation, send client messages, read the transcript.

Every route needs an API key with the right scope or a client token (see `auth`); a REST conversation's
channel is always `api`, and opening again returns the client's open one (200 instead of 201).
"""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from handoff_api.conversations.auth import (
    CLIENT_NOT_FOUND,
    CallerDep,
    ReadableConversation,
    WritableConversation,
    client_to_open,
    not_found,
)
from handoff_api.deps import ContainerDep
from handoff_api.errors import error_responses
from handoff_api.paging import TranscriptPageQuery
from handoff_api.schemas import (
    ConversationOut,
    FactsOut,
    Feedback,
    MessageOut,
    MessageReplies,
    NewConversation,
    NewMessage,
    RatingIn,
    RatingOut,
    Transcript,
)
from routing.errors import NotFound
from routing.models import Channel

router = APIRouter(
    prefix="/api/v1/conversations", tags=["conversations"], responses=error_responses(401, 403, 404, 422, 429)
)
WITH_BODY = error_responses(400, 413)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={
        status.HTTP_200_OK: {"model": ConversationOut, "description": "The client's open conversation"},
        **WITH_BODY,
        **error_responses(409),
    },
)
async def open_conversation(
    body: NewConversation, response: Response, container: ContainerDep, caller: CallerDep
) -> ConversationOut:
    """Open the client's REST conversation (201), or return the one already open (200); it starts with the bot."""
    client_id = await client_to_open(container, caller, body.client_id)
    try:
        opened = await container.routing.open_conversation(client_id, Channel.API)
    except NotFound as exc:
        raise not_found(CLIENT_NOT_FOUND) from exc
    if not opened.created:
        response.status_code = status.HTTP_200_OK
    return ConversationOut.of(opened.conversation)


@router.get("/{conversation_id}")
async def get_conversation(conversation: ReadableConversation) -> ConversationOut:
    """The conversation's current state."""
    return ConversationOut.of(conversation)


@router.get("/{conversation_id}/facts")
async def facts(conversation: ReadableConversation, container: ContainerDep) -> FactsOut:
    """Queue position, estimated wait (from recent handle times) and who is serving."""
    return FactsOut.of(await container.routing.client_facts(conversation.id))


@router.post("/{conversation_id}/messages", responses={**WITH_BODY, **error_responses(409, 503)})
async def send_message(conversation: WritableConversation, body: NewMessage, container: ContainerDep) -> MessageReplies:
    """Store the client's message and return what it produced (bot replies, or none while a human serves)."""
    result = await container.flow.client_message(conversation.id, body.text, body.client_msg_id, just_read=conversation)
    return MessageReplies(
        message=MessageOut.of(result.client_message),
        replies=[MessageOut.of(reply) for reply in result.replies],
        conversation=ConversationOut.of(result.conversation),
    )


@router.post("/{conversation_id}/feedback", responses={**WITH_BODY, **error_responses(409, 503)})
async def send_feedback(conversation: WritableConversation, body: Feedback, container: ContainerDep) -> MessageReplies:
    """问题已解答 / 问题未解答: resolved closes the question, unresolved moves it one tier up."""
    result = await container.flow.feedback(conversation.id, body.resolved)
    return MessageReplies(
        message=MessageOut.of(result.client_message),
        replies=[MessageOut.of(reply) for reply in result.replies],
        conversation=ConversationOut.of(result.conversation),
    )


@router.post("/{conversation_id}/rating", status_code=status.HTTP_201_CREATED, responses=error_responses(400, 409, 413))
async def send_rating(conversation: WritableConversation, body: RatingIn, container: ContainerDep) -> RatingOut:
    """Rate the question just resolved 1–5 (within the rating window after 问题已解答, once per resolution)."""
    rating = await container.routing.rate(conversation.id, body.score)
    return RatingOut(
        conversation_id=rating.conversation_id,
        score=rating.score,
        tier=int(rating.tier),
        staff_id=rating.staff_id,
        at=rating.at,
    )


@router.get("/{conversation_id}/messages")
async def transcript(
    conversation: ReadableConversation,
    container: ContainerDep,
    page: TranscriptPageQuery,
) -> Transcript:
    """A page of the transcript in seq order: the newest messages (below `before`), or those after `after`.

    Without `after` the page is the newest `limit` messages, so a long conversation opens on its latest
    messages; `has_older` says whether to ask again with `before` set to the first seq shown.
    """
    shown = await container.routing.transcript(conversation.id, page=page)
    messages = [MessageOut.of(m) for m in shown.messages]
    return Transcript(conversation_id=conversation.id, messages=messages, has_older=shown.has_older)
