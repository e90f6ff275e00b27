"""Compliance API: search conversations by client, staff, date and text; export a transcript.

Compliance staff and admins only (403 otherwise); every search and export is audited. Result snippets are
masked (handoff_api.masking), the export keeps the full text. Times without a zone are read in the branch's
time zone (ROUTING_TIMEZONE); `to` defaults to now and `from` to the longest span before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel

from handoff_api.deps import ContainerDep
from handoff_api.errors import error_responses
from handoff_api.masking import mask_text
from handoff_api.staff.auth import CurrentStaff
from handoff_api.staff.transcript_export import MEDIA_TYPES, ExportFormat, render_export
from routing.compliance import ConversationHit, ConversationQuery
from routing.errors import ValidationFailed

router = APIRouter(prefix="/compliance", tags=["compliance"], responses=error_responses(403, 404))

SNIPPET_CONTEXT = 30
"""Characters kept on each side of the match in a snippet."""


class ComplianceHitOut(BaseModel):
    """A conversation found, with the matching message's masked snippet."""

    conversation_id: str
    client_id: str
    channel: str
    state: str
    tier: int
    assignee_id: str | None
    created_at: datetime
    matched_seq: int | None
    snippet: str | None


class CompliancePageOut(BaseModel):
    """One page of a compliance search."""

    items: list[ComplianceHitOut]
    total: int
    page: int
    page_size: int


def snippet(text: str, needle: str | None, context: int = SNIPPET_CONTEXT) -> str:
    """The text masked, then cut to the match with `context` characters each side (masking first keeps no
    partial number readable)."""
    masked = mask_text(text)
    at = masked.casefold().find(needle.casefold()) if needle else -1
    if at < 0:
        return masked if len(masked) <= 2 * context else masked[: 2 * context] + "…"
    start, end = max(0, at - context), min(len(masked), at + len(needle or "") + context)
    return ("…" if start else "") + masked[start:end] + ("…" if end < len(masked) else "")


def _hit_out(hit: ConversationHit, needle: str | None) -> ComplianceHitOut:
    conversation, matched = hit.conversation, hit.matched
    return ComplianceHitOut(
        conversation_id=conversation.id,
        client_id=conversation.client_id,
        channel=conversation.channel.value,
        state=conversation.state.value,
        tier=int(conversation.tier),
        assignee_id=conversation.assignee_id,
        created_at=conversation.created_at,
        matched_seq=matched.seq if matched else None,
        snippet=snippet(matched.text, needle) if matched else None,
    )


def _aware(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=zone)


@router.get("/conversations")
async def search_conversations(  # noqa: PLR0917 - one query parameter per filter
    staff: CurrentStaff,
    container: ContainerDep,
    client_id: str | None = Query(default=None, max_length=64),
    staff_id: str | None = Query(default=None, max_length=64),
    start: Annotated[datetime | None, Query(alias="from", description="created at or after (ISO 8601)")] = None,
    end: Annotated[datetime | None, Query(alias="to", description="created before (ISO 8601; default now)")] = None,
    q: str | None = Query(default=None, max_length=200, description="text a message contains"),
    page: int = Query(default=1, ge=1, le=10_000),
) -> CompliancePageOut:
    """Conversations by client, staff member, creation date and message text, newest first; audited."""
    compliance = container.routing.compliance
    zone = ZoneInfo(container.routing.settings.timezone)
    until = _aware(end, zone) or container.clock.now()
    since = _aware(start, zone) or until - compliance.max_span
    if until <= since:
        raise ValidationFailed("to must be after from")
    query = ConversationQuery(since, until, client_id, staff_id, q, page, compliance.page_size)
    masked = mask_text(q.strip()) if q and q.strip() else None
    found = await compliance.search(staff.id, query, masked)
    needle = q.strip() if q else None
    return CompliancePageOut(
        items=[_hit_out(hit, needle) for hit in found.hits],
        total=found.total,
        page=found.page,
        page_size=found.page_size,
    )


@router.get("/conversations/{conversation_id}/export")
async def export_conversation(
    conversation_id: Annotated[str, Path(min_length=1, max_length=64)],
    staff: CurrentStaff,
    container: ContainerDep,
    file_format: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.CSV,
) -> Response:
    """The whole transcript with who served each answer and their practice number, as a file; audited."""
    export = await container.routing.compliance.export(staff.id, conversation_id, file_format.value)
    filename = f"conversation-{export.conversation.id}.{file_format.value}"
    return Response(
        render_export(export, file_format),
        media_type=MEDIA_TYPES[file_format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
