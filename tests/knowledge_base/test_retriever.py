from __future__ import annotations

import pytest

from knowledge_base.models import Band, Category, FaqEntry, FollowUpQueue, Hit, ScoreBands
from knowledge_base.retriever import ScoringWeights, decide_band, make_retrieval, top_margin

BANDS = ScoreBands(answer=0.9, suggest=0.8, margin=0.02)


def hits(*scores: float) -> list[Hit]:
    return [
        Hit(FaqEntry(f"e{i}", Category.FINANCE_WIKI, FollowUpQueue.ADVISOR, "q", (), "a"), score, "q")
        for i, score in enumerate(scores)
    ]


@pytest.mark.parametrize(
    ("scores", "band"),
    [
        ((0.95, 0.90), Band.ANSWER),
        ((0.95,), Band.ANSWER),
        ((0.95, 0.94), Band.SUGGEST),  # confident but ambiguous: margin below 0.02
        ((0.9, 0.88), Band.ANSWER),  # exactly at the thresholds
        ((0.85, 0.5), Band.SUGGEST),
        ((0.8,), Band.SUGGEST),
        ((0.79, 0.2), Band.ESCALATE),
        ((), Band.ESCALATE),
    ],
)
def test_decide_band(scores: tuple[float, ...], band: Band) -> None:
    assert decide_band(hits(*scores), BANDS) is band


def test_top_margin() -> None:
    assert top_margin([]) == 0.0
    assert top_margin(hits(0.7)) == pytest.approx(0.7)
    assert top_margin(hits(0.9, 0.85, 0.1)) == pytest.approx(0.05)


def test_make_retrieval_keeps_three_suggestions_even_for_k1() -> None:
    suggested = make_retrieval("q", hits(0.85, 0.84, 0.83, 0.82), BANDS, k=1)
    assert suggested.band is Band.SUGGEST and len(suggested.hits) == 3
    answered = make_retrieval("q", hits(0.95, 0.5, 0.4), BANDS, k=1)
    assert answered.band is Band.ANSWER and len(answered.hits) == 1


def test_scoring_weights_must_sum_to_one() -> None:
    assert ScoringWeights(document=0.5, best=0.5, mean=0.0, lexical=0.0).combine(0.8, 1.0, 0.0, 0.0) == pytest.approx(
        0.9
    )
    with pytest.raises(ValueError):
        ScoringWeights(document=0.5, best=0.6, mean=0.0, lexical=0.0)
    with pytest.raises(ValueError):
        ScoringWeights(document=1.2, best=-0.2, mean=0.0, lexical=0.0)
    weights = ScoringWeights(document=0.2, best=0.5, mean=0.2, lexical=0.1)
    assert ScoringWeights.from_dict(weights.to_dict()) == weights
