"""Staff API for the agent console: queues, claim, reply, resolve, transfer, presence, assist.

Sign-in and sessions are in `session_routes`.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status

from handoff_api.deps import ContainerDep
from handoff_api.errors import error_responses
from handoff_api.paging import TranscriptPageQuery
from handoff_api.schemas import ConversationOut, MessageOut
from handoff_api.staff.auth import CurrentStaff
from handoff_api.staff.canned import router as canned_router
from handoff_api.staff.compliance_routes import router as compliance_router
from handoff_api.staff.schemas import (
    ClientCard,
    ColleagueOut,
    ConversationDetail,
    KbHitOut,
    MeOut,
    PresenceIn,
    QueueItemOut,
    Reply,
    StaffOut,
    TicketOut,
    Transfer,
)
from handoff_api.staff.stats import TodayStats
from routing.models import QueueName, Staff
from routing.service.pages import PageRequest

router = APIRouter(prefix="/api/v1/staff", tags=["staff"], responses=error_responses(401, 422))
WITH_BODY = error_responses(400, 413)
ON_CONVERSATION = error_responses(403, 404, 409)
"""What acting on a conversation may meet: not one's own, unknown, or moved by someone else first."""


@router.get("/me")
async def me(staff: CurrentStaff, container: ContainerDep) -> MeOut:
    """The signed-in staff member, their presence and current load."""
    status_now = await container.routing.staff_status(staff.id)
    return MeOut(**StaffOut.of(staff).model_dump(), presence=status_now.presence.value, active=status_now.active)


@router.get("/colleagues")
async def colleagues(staff: CurrentStaff, container: ContainerDep) -> list[ColleagueOut]:
    """Tier-2 staff a conversation can be transferred to (advisors and service staff), with their presence."""
    return [
        ColleagueOut(**StaffOut.of(colleague.staff).model_dump(), presence=colleague.presence.value)
        for colleague in await container.routing.colleagues(staff.id)
    ]


@router.get("/queues/{queue}", responses=error_responses(403))
async def queue_view(queue: QueueName, staff: CurrentStaff, container: ContainerDep) -> list[QueueItemOut]:
    """Waiting conversations in service order (VIP first, then FIFO)."""
    return [QueueItemOut.of(item) for item in await container.routing.queue_view(queue, staff.id)]


@router.get("/conversations")
async def my_conversations(staff: CurrentStaff, container: ContainerDep) -> list[ConversationOut]:
    """Live conversations the staff member holds or, for responders, their tier-3 inbox."""
    return [ConversationOut.of(c) for c in await container.routing.staff_conversations(staff.id)]


@router.get("/conversations/{conversation_id}", responses=error_responses(403, 404))
async def conversation_detail(
    conversation_id: str,
    staff: CurrentStaff,
    container: ContainerDep,
    page: TranscriptPageQuery,
    opened: bool = Query(default=False, description="the staff member opens it (audited each time)"),
) -> ConversationDetail:
    """A transcript page (the newest by default, with the bot's part), client card and ticket, if the staff member
    may see it; audited. `has_older`: ask again with `before` set to the first seq shown."""
    return await _detail(container, staff, conversation_id, opened, page)


async def _detail(
    container: ContainerDep, staff: Staff, conversation_id: str, opened: bool, page: PageRequest
) -> ConversationDetail:
    view = await container.routing.conversation_view(staff.id, conversation_id, opened, page)
    conversation, messages, client, ticket = view.conversation, view.messages, view.client, view.ticket
    return ConversationDetail(
        conversation=ConversationOut.of(conversation),
        client=ClientCard.of(client),
        ticket=TicketOut(
            id=ticket.id,
            queue=ticket.queue.value if ticket.queue else None,
            reason=ticket.reason.value,
            question=ticket.question,
            status=ticket.status.value,
            tier=int(ticket.tier),
            enqueued_at=ticket.enqueued_at,
            responder_step=int(ticket.responder_step or 0),
            responder_deadline=ticket.responder_deadline,
        )
        if ticket
        else None,
        transcript=[MessageOut.of(m) for m in messages],
        has_older=view.has_older,
    )


@router.post("/claim", responses=ON_CONVERSATION)
async def claim_next(staff: CurrentStaff, container: ContainerDep) -> ConversationOut:
    """Take the best waiting conversation of one's queues."""
    return ConversationOut.of(await container.routing.claim(staff.id))


@router.post("/conversations/{conversation_id}/claim", responses=ON_CONVERSATION)
async def claim(conversation_id: str, staff: CurrentStaff, container: ContainerDep) -> ConversationOut:
    """Take a specific waiting conversation (409 if someone else took it first)."""
    return ConversationOut.of(await container.routing.claim(staff.id, conversation_id))


@router.post("/conversations/{conversation_id}/reply", responses={**ON_CONVERSATION, **WITH_BODY})
async def reply(conversation_id: str, body: Reply, staff: CurrentStaff, container: ContainerDep) -> MessageOut:
    """Answer the client; the answer records who served it."""
    text = container.flow.check_text(body.text)
    return MessageOut.of(await container.routing.staff_reply(staff.id, conversation_id, text, body.reply_id))


@router.post("/conversations/{conversation_id}/resolve", responses=ON_CONVERSATION)
async def resolve(conversation_id: str, staff: CurrentStaff, container: ContainerDep) -> ConversationOut:
    """Mark the question resolved; the conversation returns to the bot for the next question."""
    return ConversationOut.of(await container.routing.resolve(staff.id, conversation_id))


@router.post("/conversations/{conversation_id}/unresolved", responses=ON_CONVERSATION)
async def unresolved(conversation_id: str, staff: CurrentStaff, container: ContainerDep) -> ConversationOut:
    """Tier 2 could not resolve it: hand it to the client's assigned responder."""
    return ConversationOut.of(await container.routing.mark_unresolved(staff.id, conversation_id))


@router.post("/conversations/{conversation_id}/escalate", responses=ON_CONVERSATION)
async def escalate(conversation_id: str, staff: CurrentStaff, container: ContainerDep) -> ConversationOut:
    """Escalate to the client's assigned responder (tier 3)."""
    return ConversationOut.of(await container.routing.escalate_to_responder(staff.id, conversation_id))


@router.post("/conversations/{conversation_id}/transfer", responses={**ON_CONVERSATION, **WITH_BODY})
async def transfer(
    conversation_id: str, body: Transfer, staff: CurrentStaff, container: ContainerDep
) -> ConversationOut:
    """To the other queue, or to a colleague."""
    if (body.queue is None) == (body.staff_id is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "give exactly one of queue or staff_id")
    if body.queue is not None:
        moved = await container.routing.transfer_to_queue(staff.id, conversation_id, body.queue)
    else:
        assert body.staff_id is not None
        moved = await container.routing.transfer_to_staff(staff.id, conversation_id, body.staff_id)
    return ConversationOut.of(moved)


@router.post("/conversations/{conversation_id}/reopen", responses=ON_CONVERSATION)
async def reopen(conversation_id: str, staff: CurrentStaff, container: ContainerDep) -> ConversationOut:
    """Reopen a resolved or closed conversation."""
    return ConversationOut.of(await container.routing.reopen(staff.id, conversation_id))


@router.post("/conversations/{conversation_id}/close", responses=ON_CONVERSATION)
async def close(conversation_id: str, staff: CurrentStaff, container: ContainerDep) -> ConversationOut:
    """Close the conversation explicitly."""
    return ConversationOut.of(await container.routing.close(staff.id, conversation_id))


@router.post("/presence", status_code=status.HTTP_204_NO_CONTENT, responses=WITH_BODY)
async def presence(body: PresenceIn, staff: CurrentStaff, container: ContainerDep) -> None:
    """Online, away or offline; going online pulls waiting work."""
    await container.routing.set_presence(staff.id, body.presence)


@router.post("/heartbeat")
async def heartbeat(staff: CurrentStaff, container: ContainerDep) -> dict[str, bool]:
    """Keep presence alive; `alive` false means it lapsed and must be set again."""
    return {"alive": await container.routing.heartbeat(staff.id)}


@router.get("/kb/search", responses=error_responses(503))
async def kb_search(
    staff: CurrentStaff,
    container: ContainerDep,
    q: str = Query(min_length=1, max_length=500),
    k: int = Query(default=5, ge=1, le=20),
) -> list[KbHitOut]:
    """Agent assist: knowledge-base answers for a question."""
    if container.knowledge_base is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the FAQ index is not loaded")
    return [
        KbHitOut(
            faq_id=hit.entry.id,
            question=hit.entry.question,
            answer=hit.entry.answer,
            category=hit.entry.category.value,
            score=round(hit.score, 4),
        )
        for hit in container.knowledge_base.search(q, k=k)
    ]


@router.get("/stats/today", responses=error_responses(403))
async def stats_today(staff: CurrentStaff, container: ContainerDep) -> TodayStats:
    """Today's figures per tier (supervisors only: an admin's of the firm, a duty manager's of their branch)."""
    return TodayStats.from_day(await container.routing.figures.today(staff.id))


router.include_router(canned_router)
router.include_router(compliance_router)
