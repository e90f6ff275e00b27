"""Compliance search over the record: the query, its checks, and the matching rule every adapter keeps.

Pure: the SQL adapter (routing.sql_compliance) and the in-memory double apply the same rule:
- `client_id`: the conversation's client;
- `staff_id`: someone who served an answer in it (a message's served-by staff) or holds it now;
- `start` <= created_at < `end` (both required, at most the configured span apart);
- `text`: a message contains it (case-insensitive; `%` and `_` are plain characters, not wildcards).
Hits are newest first (created_at, then id, descending), one page at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from routing.errors import ValidationFailed
from routing.models import Conversation, Message

LIKE_ESCAPE = "\\"
"""The escape character of LIKE patterns built by `like_pattern`."""
MAX_TEXT = 200
"""The longest text filter accepted."""


@dataclass(frozen=True)
class ConversationQuery:
    """One page of a compliance search; `page` counts from 1."""

    start: datetime
    end: datetime
    client_id: str | None = None
    staff_id: str | None = None
    text: str | None = None
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        """Rows skipped before this page."""
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class ConversationHit:
    """A conversation that matched, and the first message that contains the text (if a text was given)."""

    conversation: Conversation
    matched: Message | None


@dataclass(frozen=True)
class SearchPage:
    """One page of hits and how many match in all."""

    hits: tuple[ConversationHit, ...]
    total: int
    page: int
    page_size: int


def check_query(query: ConversationQuery, max_span: timedelta) -> ConversationQuery:
    """The query with blank filters dropped; ValidationFailed on a reversed or too long range or a bad page."""
    if query.start.tzinfo is None or query.end.tzinfo is None:
        raise ValidationFailed("from and to need a time zone")
    if query.end <= query.start:
        raise ValidationFailed("to must be after from")
    if query.end - query.start > max_span:
        raise ValidationFailed(f"the range may span at most {max_span.days} days")
    if query.page < 1 or query.page_size < 1:
        raise ValidationFailed("page and page size start at 1")
    text = (query.text or "").strip() or None
    if text is not None and len(text) > MAX_TEXT:
        raise ValidationFailed(f"the text filter is longer than {MAX_TEXT} characters")
    return ConversationQuery(
        start=query.start,
        end=query.end,
        client_id=(query.client_id or "").strip() or None,
        staff_id=(query.staff_id or "").strip() or None,
        text=text,
        page=query.page,
        page_size=query.page_size,
    )


def like_pattern(text: str) -> str:
    """A LIKE pattern (escape character `LIKE_ESCAPE`) matching `text` anywhere, its wildcards taken literally."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def contains(haystack: str, needle: str) -> bool:
    """The case-insensitive containment the SQL adapters' ILIKE gives."""
    return needle.casefold() in haystack.casefold()


def served_by(messages: Sequence[Message], staff_id: str) -> bool:
    """Some message of the conversation was served by this staff member."""
    return any(m.served_by is not None and m.served_by.staff_id == staff_id for m in messages)


def matches(
    conversation: Conversation, messages: Sequence[Message], query: ConversationQuery
) -> ConversationHit | None:
    """The hit for this conversation (its messages in seq order), or None when it does not match."""
    if not query.start <= conversation.created_at < query.end:
        return None
    if query.client_id is not None and conversation.client_id != query.client_id:
        return None
    if query.staff_id is not None and not (
        conversation.assignee_id == query.staff_id or served_by(messages, query.staff_id)
    ):
        return None
    if query.text is None:
        return ConversationHit(conversation, None)
    text = query.text
    matched = next((m for m in messages if contains(m.text, text)), None)
    return ConversationHit(conversation, matched) if matched is not None else None


def newest_first(hits: Sequence[ConversationHit]) -> list[ConversationHit]:
    """Hits in the order every adapter returns them."""
    return sorted(hits, key=lambda h: (h.conversation.created_at, h.conversation.id), reverse=True)


def paged(hits: Sequence[ConversationHit], query: ConversationQuery) -> SearchPage:
    """The query's page of all the hits (already in order)."""
    window = tuple(hits[query.offset : query.offset + query.page_size])
    return SearchPage(window, len(hits), query.page, query.page_size)
