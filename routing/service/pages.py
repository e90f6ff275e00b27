"""Pages of a transcript: the newest messages (below a seq, to page back), or those after a seq (to resume).

A long conversation opens on its latest words; `has_older` says whether a page back is left.
"""

from __future__ import annotations

from dataclasses import dataclass

from routing.errors import ValidationFailed
from routing.models import Message
from routing.records import Record

DEFAULT_PAGE = 200


@dataclass(frozen=True)
class PageRequest:
    """Which messages: after `after` (forwards), else the newest `limit` below `before` (or of all)."""

    after: int = 0
    before: int | None = None
    limit: int = DEFAULT_PAGE

    def __post_init__(self) -> None:
        if self.after and self.before is not None:
            raise ValidationFailed("after and before cannot be combined")
        if self.limit < 1:
            raise ValidationFailed("a page holds at least one message")


NEWEST = PageRequest()


@dataclass(frozen=True)
class TranscriptPage:
    """Messages in seq order, and whether older ones remain before the first."""

    messages: list[Message]
    has_older: bool


async def read_page(record: Record, conversation_id: str, page: PageRequest = NEWEST) -> TranscriptPage:
    """The page of the conversation's transcript that `page` asks for."""
    if page.after:
        forward = await record.list_messages(conversation_id, after_seq=page.after, limit=page.limit)
        return TranscriptPage(forward, has_older=False)
    newest = await record.latest_messages(conversation_id, limit=page.limit, before_seq=page.before)
    return TranscriptPage(newest, has_older=bool(newest) and newest[0].seq > 1)
