from __future__ import annotations

from datetime import date

from knowledge_base.models import Band, Category, FaqEntry, FollowUpQueue, Hit, Retrieval, ScoreBands


def entry(entry_id: str, queue: FollowUpQueue = FollowUpQueue.SERVICE, **kwargs: object) -> FaqEntry:
    return FaqEntry(
        id=entry_id,
        category=Category.BUSINESS_GUIDE,
        queue=queue,
        question=f"{entry_id}?",
        similar=("a", "b"),
        answer="答案",
        **kwargs,  # type: ignore[arg-type]
    )


def test_enums_are_strings() -> None:
    assert Band.ANSWER.value == "answer"
    assert FollowUpQueue("advisor") is FollowUpQueue.ADVISOR
    assert {c.value for c in Category} == {
        "smart_investing",
        "wealth_management",
        "customer_service",
        "business_guide",
        "finance_wiki",
        "investor_education",
    }


def test_validity_window_is_inclusive() -> None:
    bounded = entry("x", valid_from=date(2025, 1, 1), valid_to=date(2025, 1, 31))
    assert not bounded.is_valid_on(date(2024, 12, 31))
    assert bounded.is_valid_on(date(2025, 1, 1))
    assert bounded.is_valid_on(date(2025, 1, 31))
    assert not bounded.is_valid_on(date(2025, 2, 1))
    assert entry("open").is_valid_on(date(1990, 1, 1))


def test_entry_dict_round_trip() -> None:
    original = entry("x", tags=("t",), valid_to=date(2030, 6, 30))
    assert FaqEntry.from_dict(original.to_dict()) == original
    assert original.phrasings == ("x?", "a", "b")


def test_retrieval_top_and_queue_hint() -> None:
    empty = Retrieval("q", Band.ESCALATE)
    assert empty.top is None and empty.queue_hint is None
    hits = (
        Hit(entry("a", FollowUpQueue.ADVISOR), 0.9, "a"),
        Hit(entry("b", FollowUpQueue.SERVICE), 0.8, "b"),
        Hit(entry("c", FollowUpQueue.SERVICE), 0.7, "c"),
    )
    retrieval = Retrieval("q", Band.SUGGEST, hits)
    assert retrieval.top == hits[0]
    assert retrieval.queue_hint is FollowUpQueue.SERVICE
    assert Retrieval("q", Band.SUGGEST, hits[:2]).queue_hint is FollowUpQueue.ADVISOR


def test_score_bands_round_trip() -> None:
    bands = ScoreBands(answer=0.9, suggest=0.85, margin=0.01)
    assert ScoreBands.from_dict(bands.to_dict()) == bands
