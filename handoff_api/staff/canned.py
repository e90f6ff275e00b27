"""Canned replies API: every staff member reads their team's replies (rendered for a conversation if given);
supervisors add, change and remove them.

Variables in a reply's text: {客户姓名}, {坐席姓名}, {日期} (routing.canned); others are refused with 422.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, status
from pydantic import BaseModel, Field

from handoff_api.deps import ContainerDep
from handoff_api.errors import error_responses
from handoff_api.inputs import CleanText, RequestBody
from handoff_api.staff.auth import CurrentStaff
from routing.canned import MAX_TEXT, MAX_TITLE, CannedDraft, CannedReply, CannedTeam

ReplyId = Annotated[str, Path(min_length=1, max_length=64)]

router = APIRouter(prefix="/canned-replies", tags=["canned replies"], responses=error_responses(400, 403, 404, 409))


class CannedReplyIn(RequestBody):
    """A reply as a supervisor writes it."""

    team: CannedTeam
    title: CleanText = Field(min_length=1, max_length=MAX_TITLE)
    text: CleanText = Field(min_length=1, max_length=MAX_TEXT)

    def draft(self) -> CannedDraft:
        """As routing takes it."""
        return CannedDraft(self.team, self.title, self.text)


class CannedReplyOut(BaseModel):
    """A canned reply (its text rendered when a conversation was given)."""

    id: str
    team: str
    title: str
    text: str
    updated_by: str
    updated_at: datetime

    @classmethod
    def of(cls, reply: CannedReply) -> CannedReplyOut:
        """From the domain record."""
        return cls(
            id=reply.id,
            team=reply.team.value,
            title=reply.title,
            text=reply.text,
            updated_by=reply.updated_by,
            updated_at=reply.updated_at,
        )


@router.get("")
async def list_canned_replies(
    staff: CurrentStaff,
    container: ContainerDep,
    conversation_id: str | None = Query(default=None, max_length=64, description="render the variables for it"),
    scope: Literal["mine", "all"] = Query(default="mine", description="all: every team (supervisors)"),
) -> list[CannedReplyOut]:
    """The staff member's team's replies and the shared ones; `scope=all` lists every team for supervisors."""
    canned = container.routing.canned
    if scope == "all":
        return [CannedReplyOut.of(r) for r in await canned.all_replies(staff.id)]
    return [CannedReplyOut.of(r) for r in await canned.offered(staff.id, conversation_id)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_canned_reply(body: CannedReplyIn, staff: CurrentStaff, container: ContainerDep) -> CannedReplyOut:
    """Add a reply (supervisors)."""
    return CannedReplyOut.of(await container.routing.canned.create(staff.id, body.draft()))


@router.put("/{reply_id}")
async def update_canned_reply(
    reply_id: ReplyId, body: CannedReplyIn, staff: CurrentStaff, container: ContainerDep
) -> CannedReplyOut:
    """Change a reply (supervisors)."""
    return CannedReplyOut.of(await container.routing.canned.update(staff.id, reply_id, body.draft()))


@router.delete("/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_canned_reply(reply_id: ReplyId, staff: CurrentStaff, container: ContainerDep) -> None:
    """Remove a reply (supervisors)."""
    await container.routing.canned.delete(staff.id, reply_id)
