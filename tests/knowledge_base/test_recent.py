"""Recent retrievals: the newest `size`, each good only on the index snapshot that scored it."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge_base.models import Band, Retrieval
from knowledge_base.recent import RecentRetrievals


def test_recent_retrievals_keep_the_newest_of_the_current_index() -> None:
    with pytest.raises(ValueError):
        RecentRetrievals(0)
    recent = RecentRetrievals(2)
    snapshot, other = object(), object()
    retrievals = {text: Retrieval(text, Band.ESCALATE) for text in ("a", "b", "c")}
    for text, retrieval in retrievals.items():
        recent.put((date(2025, 6, 1), text, 3), snapshot, retrieval)
    assert len(recent) == 2 and recent.get((date(2025, 6, 1), "a", 3), snapshot) is None  # the oldest went
    assert recent.get((date(2025, 6, 1), "c", 3), snapshot) is retrievals["c"]
    assert recent.get((date(2025, 6, 1), "c", 3), other) is None  # scored on another index
    recent.forget()
    assert len(recent) == 0 and (recent.hits, recent.misses) == (1, 2)
