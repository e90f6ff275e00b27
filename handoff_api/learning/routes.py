"""Console API of the learning loop: staff labels, the review queue, gaps, drafts, figures, index versions.

Labels may come from any staff member; review, gaps, drafts and versions are for knowledge editors
(supervisors by default: LEARNING_EDITOR_ROLES)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from handoff_api.container import Container
from handoff_api.deps import ContainerDep
from handoff_api.errors import error_responses
from handoff_api.inputs import CleanText, RequestBody
from handoff_api.learning.gaps import list_gaps
from handoff_api.learning.models import Source, Status
from handoff_api.learning.review import Decision
from handoff_api.learning.wiring import LearningLoop
from handoff_api.staff.auth import CurrentStaff
from knowledge_base.gaps import DEFAULT_THRESHOLD
from routing.errors import Forbidden, NotFound, ValidationFailed
from routing.models import Staff

router = APIRouter(
    prefix="/api/v1/staff/learning", tags=["learning"], responses=error_responses(400, 401, 403, 404, 409, 413, 422)
)
ID_FIELD = Field(min_length=1, max_length=64)


class LabelIn(RequestBody):
    """使用此答案 (agent assist) or the entry marked as the answer when resolving."""

    conversation_id: CleanText = ID_FIELD
    faq_id: CleanText = ID_FIELD
    source: Literal["agent_assist", "resolve_marked"] = "agent_assist"


class DecisionIn(RequestBody):
    """One review decision."""

    id: int = Field(ge=1, le=2**31 - 1)
    action: Literal["approve", "reject", "edit", "move"]
    text: CleanText | None = Field(default=None, max_length=500)
    faq_id: CleanText | None = Field(default=None, max_length=64)
    entry: dict[str, Any] | None = None


class ReviewIn(RequestBody):
    """A review batch."""

    decisions: list[DecisionIn] = Field(min_length=1, max_length=200)


class DraftIn(RequestBody):
    """起草FAQ: a draft entry from a gap cluster and a human answer."""

    id: CleanText | None = Field(default=None, max_length=64)
    category: CleanText = Field(min_length=1, max_length=32)
    queue: CleanText = Field(min_length=1, max_length=16)
    question: CleanText = Field(min_length=1, max_length=500)
    similar: list[CleanText] = Field(default_factory=list, max_length=50)
    answer: CleanText = Field(min_length=1, max_length=4000)
    valid_from: CleanText | None = Field(default=None, max_length=10)
    valid_to: CleanText | None = Field(default=None, max_length=10)


def _loop(container: Container) -> LearningLoop:
    if container.learning is None:
        raise NotFound("the learning loop is not running")
    return container.learning


def _editor(container: Container, staff: Staff) -> LearningLoop:
    roles = {part.strip() for part in container.settings.learning_editor_roles.split(",") if part.strip()}
    if staff.role.value not in roles:
        raise Forbidden("knowledge-base review is for knowledge editors")
    return _loop(container)


@router.post("/labels")
async def label(body: LabelIn, staff: CurrentStaff, container: ContainerDep) -> dict[str, Any]:
    """Store the client's question with the entry staff used or marked; it waits in review."""
    loop = _loop(container)
    if loop.kb is not None and body.faq_id not in {entry.id for entry in loop.kb.entries}:
        raise ValidationFailed(f"entry '{body.faq_id}' is not in the knowledge base")
    candidate = await loop.label(staff.id, body.conversation_id, body.faq_id, Source(body.source))
    if candidate is None:
        raise NotFound("no question of this conversation was handled by tier 1")
    return {"candidate": candidate}


@router.get("/review")
async def review_queue(
    staff: CurrentStaff,
    container: ContainerDep,
    status: Status = Status.PENDING,
    limit: int = Query(default=100, ge=1, le=500),
) -> list[dict[str, Any]]:
    """Candidates waiting for review (or reviewed ones), personal data masked."""
    return await _editor(container, staff).review.queue(status, limit)


@router.post("/review")
async def review(body: ReviewIn, staff: CurrentStaff, container: ContainerDep) -> dict[str, Any]:
    """Apply a batch; when any candidate is approved a new index version is requested and built in the background."""
    loop = _editor(container, staff)
    decisions = [Decision(d.id, d.action, d.text, d.faq_id, d.entry) for d in body.decisions]
    items, approved = await loop.review.apply(staff.id, decisions)
    build = None
    if approved:
        version = await loop.review.request_build(staff.id)
        loop.nudge()
        build = version.version
    return {"items": items, "build": build}


@router.get("/gaps")
async def gaps(
    staff: CurrentStaff,
    container: ContainerDep,
    threshold: float = Query(default=DEFAULT_THRESHOLD, gt=0, le=1),
    limit: int = Query(default=50, ge=1, le=200),
) -> dict[str, Any]:
    """Escalated and unresolved questions clustered, largest first, with a draft entry each."""
    loop = _editor(container, staff)
    if loop.kb is None:
        raise NotFound("the FAQ index is not loaded")
    return await list_gaps(loop.store, loop.kb, threshold, limit)


@router.post("/drafts")
async def draft(body: DraftIn, staff: CurrentStaff, container: ContainerDep) -> dict[str, Any]:
    """Queue a draft entry for review (it is live only once approved)."""
    candidate = await _editor(container, staff).review.draft(staff.id, body.model_dump())
    return {"candidate": candidate}


@router.get("/figures")
async def figures(staff: CurrentStaff, container: ContainerDep) -> list[dict[str, Any]]:
    """Per entry: times shown, confirmed, unresolved, escalated afterwards."""
    return [asdict(item) for item in await _editor(container, staff).store.entry_figures()]


@router.get("/versions")
async def versions(staff: CurrentStaff, container: ContainerDep) -> dict[str, Any]:
    """The version this worker serves and the latest builds."""
    loop = _editor(container, staff)
    rows = await loop.store.versions(20)
    return {
        "serving": loop.kb.version if loop.kb is not None else None,
        "versions": [{**asdict(v), "status": v.status.value} for v in rows],
    }
