"""The query of a transcript page, shared by the client API and the staff API: `after`, or `before` and
`limit` (routing.service.pages)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from handoff_api.inputs import MAX_SEQ
from routing.service.pages import DEFAULT_PAGE, PageRequest

MAX_PAGE = 500


def page_query(
    after: int = Query(default=0, ge=0, le=MAX_SEQ, description="only messages with a larger seq (resuming)"),
    before: int | None = Query(default=None, ge=1, le=MAX_SEQ, description="only messages with a smaller seq"),
    limit: int = Query(default=DEFAULT_PAGE, ge=1, le=MAX_PAGE, description="messages in the page"),
) -> PageRequest:
    """The page asked for (routing refuses `after` with `before` as a ValidationFailed: 422)."""
    return PageRequest(after, before, limit)


TranscriptPageQuery = Annotated[PageRequest, Depends(page_query)]
