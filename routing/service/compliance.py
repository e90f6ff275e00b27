"""Compliance use cases: search conversations and export a transcript with who served each answer.

Both are limited to compliance staff and admins (routing.service.access) and each use is audited. Routing
returns the record as stored; the API masks what a result list shows (the snippets) and exports the full text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from routing.audit import AuditAction
from routing.compliance import ConversationQuery, SearchPage, check_query
from routing.models import Client, Conversation, Message, SenderKind, Staff, Tier
from routing.records import Record
from routing.service import access
from routing.service.journal import Journal
from routing.service.lookups import Lookups

EXPORT_PAGE = 500
"""Messages read from the record at a time while exporting."""


@dataclass(frozen=True)
class TranscriptLine:
    """One message as exported: local time, sender, who served it (name and practice number) and the full text."""

    seq: int
    at: datetime
    sender: SenderKind
    tier: Tier | None
    staff_id: str | None
    staff_name: str | None
    practice_number: str | None
    text: str


@dataclass(frozen=True)
class TranscriptExport:
    """A whole conversation for a compliance request."""

    conversation: Conversation
    client: Client
    lines: tuple[TranscriptLine, ...]


def transcript_line(message: Message, staff: Staff | None, zone: tzinfo) -> TranscriptLine:
    """The export line of a message; `staff` is who served it, if a person did."""
    served = message.served_by
    return TranscriptLine(
        seq=message.seq,
        at=message.created_at.astimezone(zone),
        sender=message.sender,
        tier=served.tier if served else None,
        staff_id=served.staff_id if served else None,
        staff_name=staff.name if staff else None,
        practice_number=staff.practice_number if staff else None,
        text=message.text,
    )


def search_detail(query: ConversationQuery, masked_text: str | None, found: SearchPage) -> dict[str, object]:
    """What the audit log keeps of a search: the filters (the text as masked by the caller) and the outcome."""
    return {
        "client_id": query.client_id,
        "staff_id": query.staff_id,
        "from": query.start.isoformat(),
        "to": query.end.isoformat(),
        "text": masked_text,
        "page": query.page,
        "hits": found.total,
    }


class Compliance:
    """Search and export for compliance staff."""

    def __init__(  # noqa: PLR0917 - the collaborators it is wired with
        self, record: Record, lookups: Lookups, journal: Journal, zone: tzinfo, max_span: timedelta, page_size: int
    ) -> None:
        self._record = record
        self._lookups = lookups
        self._journal = journal
        self._zone = zone
        self._max_span = max_span
        self._page_size = page_size

    @property
    def page_size(self) -> int:
        """Conversations per page of a search."""
        return self._page_size

    @property
    def max_span(self) -> timedelta:
        """The longest range one search may cover."""
        return self._max_span

    async def search(self, staff_id: str, query: ConversationQuery, masked_text: str | None = None) -> SearchPage:
        """One page of matching conversations (Forbidden, ValidationFailed); audited with `masked_text` for the text."""
        staff = await self._lookups.staff(staff_id)
        access.check_may_search_records(staff)
        checked = check_query(
            ConversationQuery(
                query.start, query.end, query.client_id, query.staff_id, query.text, query.page, self._page_size
            ),
            self._max_span,
        )
        found = await self._record.search_conversations(checked)
        await self._journal.audit(
            staff.id, AuditAction.COMPLIANCE_SEARCH, "conversations", search_detail(checked, masked_text, found)
        )
        return found

    async def export(self, staff_id: str, conversation_id: str, file_format: str) -> TranscriptExport:
        """The whole transcript with who served each answer (Forbidden, NotFound); audited as a data export."""
        staff = await self._lookups.staff(staff_id)
        access.check_may_search_records(staff)
        conversation = await self._lookups.conversation(conversation_id)
        client = await self._lookups.client_of(conversation)
        messages = await self._all_messages(conversation_id)
        directory: dict[str, Staff | None] = {}
        for message in messages:
            served_id = message.served_by.staff_id if message.served_by else None
            if served_id is not None and served_id not in directory:
                directory[served_id] = await self._lookups.find_staff(served_id)
        lines = tuple(
            transcript_line(m, directory.get(m.served_by.staff_id or "") if m.served_by else None, self._zone)
            for m in messages
        )
        detail: dict[str, object] = {"format": file_format, "messages": len(lines), "client_id": client.id}
        await self._journal.audit(staff.id, AuditAction.DATA_EXPORT, f"conversation:{conversation.id}", detail)
        return TranscriptExport(conversation, client, lines)

    async def _all_messages(self, conversation_id: str) -> list[Message]:
        messages: list[Message] = []
        while True:
            batch = await self._record.list_messages(conversation_id, messages[-1].seq if messages else 0, EXPORT_PAGE)
            messages.extend(batch)
            if len(batch) < EXPORT_PAGE:
                return messages
