"""routing.compliance: query checks and the LIKE pattern."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing.compliance import ConversationQuery, check_query, like_pattern
from routing.errors import ValidationFailed

NOW = datetime(2026, 12, 2, tzinfo=UTC)
SPAN = timedelta(days=366)


def test_blank_filters_are_dropped() -> None:
    checked = check_query(ConversationQuery(NOW - SPAN, NOW, " ", "", "  科创板 "), SPAN)
    assert (checked.client_id, checked.staff_id, checked.text) == (None, None, "科创板")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (ConversationQuery(NOW, NOW), "to must be after from"),
        (ConversationQuery(NOW - SPAN - timedelta(seconds=1), NOW), "at most 366 days"),
        (ConversationQuery(NOW.replace(tzinfo=None), NOW), "time zone"),
        (ConversationQuery(NOW - SPAN, NOW, page=0), "page"),
        (ConversationQuery(NOW - SPAN, NOW, text="x" * 201), "longer than 200"),
    ],
)
def test_bad_queries_are_refused(query: ConversationQuery, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        check_query(query, SPAN)


def test_like_pattern_escapes_wildcards_and_the_escape() -> None:
    assert like_pattern("100%_a\\b") == "%100\\%\\_a\\\\b%"
