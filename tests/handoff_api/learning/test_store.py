"""The learning store on SQLite and PostgreSQL: offers and outcomes, candidates, index-version claims."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from handoff_api.learning.models import (
    BuildStatus,
    CandidateKind,
    NewCandidate,
    NewOffer,
    OfferedEntry,
    OfferKind,
    Outcome,
    Source,
    Status,
)
from handoff_api.learning.store import SqlLearningStore
from routing.sql_engine import create_engine_for, migrate
from tests.net import temporary_postgres_database

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        found = f"sqlite+aiosqlite:///{tmp_path / 'learning.db'}"
        migrate(found)
        yield found
        return
    with temporary_postgres_database("tre_learning_store") as found:
        migrate(found)
        yield found


@pytest.fixture
async def store(url: str) -> AsyncIterator[SqlLearningStore]:
    engine = create_engine_for(url)
    try:
        yield SqlLearningStore(engine)
    finally:
        await engine.dispose()


def offer(kind: OfferKind = OfferKind.ANSWER, faq_id: str = "e1", at: datetime = T0) -> NewOffer:
    return NewOffer("conv-1", "两融怎么开", kind, "answer", (OfferedEntry(faq_id, 0.93, "融资融券账户怎么开？"),), at)


async def test_offers_keep_their_entries_and_outcomes_and_count_per_entry(store: SqlLearningStore) -> None:
    first = await store.add_offer(offer())
    second = await store.add_offer(offer(at=T0 + timedelta(minutes=1)))
    await store.add_offer(offer(OfferKind.ESCALATE, at=T0 + timedelta(minutes=2)))
    latest = await store.latest_offer("conv-1")
    assert latest is not None and latest.kind is OfferKind.ESCALATE
    await store.set_outcome(first, Outcome.CONFIRMED, "e1", T0)
    await store.set_outcome(second, Outcome.UNRESOLVED, "e1", T0)
    await store.mark_escalated(second)
    [figures] = await store.entry_figures()
    assert (figures.faq_id, figures.shown, figures.confirmed, figures.unresolved, figures.escalated) == (
        "e1",
        2,
        1,
        1,
        1,
    )
    gaps = await store.gap_questions(10)
    assert [row.question for row in gaps] == ["两融怎么开"]  # the escalation and the unresolved answer, once


async def test_a_pending_phrasing_is_queued_once(store: SqlLearningStore) -> None:
    item = NewCandidate(CandidateKind.PHRASING, "两融怎么开", "e1", Source.CLIENT_CONFIRMED, "client", T0, "conv-1")
    first = await store.add_candidate(item)
    assert await store.add_candidate(item) == first
    [found] = await store.candidates(Status.PENDING, 10)
    assert (found.id, found.source, found.status) == (first, Source.CLIENT_CONFIRMED, Status.PENDING)


async def test_one_build_at_a_time_and_a_stale_one_is_failed(store: SqlLearningStore) -> None:
    requested = await store.request_build("dm-sh", T0)
    assert (await store.request_build("dm-bj", T0)).version == requested.version  # coalesced while pending
    claimed = await store.claim_build("worker-a", T0, T0 - timedelta(minutes=15))
    assert claimed is not None and claimed.status is BuildStatus.BUILDING
    await store.request_build("dm-sh", T0)
    assert await store.claim_build("worker-b", T0, T0 - timedelta(minutes=15)) is None  # one build at a time
    later = T0 + timedelta(hours=1)
    retried = await store.claim_build("worker-b", later, later - timedelta(minutes=15))
    assert retried is not None and retried.version == requested.version + 1
    versions = {v.version: v for v in await store.versions(10)}
    assert versions[requested.version].status is BuildStatus.FAILED
    assert await store.latest_ready() is None
