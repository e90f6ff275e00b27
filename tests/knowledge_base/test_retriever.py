from __future__ import annotations

import pytest

from knowledge_base.models import Band, Category, FaqEntry, FollowUpQueue, Hit, ScoreBands
from knowledge_base.retriever import BLEND_ONLY, ScoringWeights, decide_band, make_retrieval, top_margin

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
    blend = ScoringWeights(document=0.5, best=0.5, mean=0.0, lexical=0.0, classifier=0.0)
    assert blend.combine(0.8, 1.0, 0.0, 0.0, probability=1.0) == pytest.approx(0.9)
    with pytest.raises(ValueError):
        ScoringWeights(classifier=1.5)
    with pytest.raises(ValueError):
        ScoringWeights(document=0.5, best=0.6, mean=0.0, lexical=0.0)
    with pytest.raises(ValueError):
        ScoringWeights(document=1.2, best=-0.2, mean=0.0, lexical=0.0)
    weights = ScoringWeights(document=0.2, best=0.5, mean=0.2, lexical=0.1, classifier=0.4)
    assert ScoringWeights.from_dict(weights.to_dict()) == weights


def test_fused_score_mixes_the_classifier_probability_with_the_blend() -> None:
    fused = ScoringWeights(document=0.5, best=0.5, mean=0.0, lexical=0.0, classifier=0.25)
    assert fused.uses_classifier and not BLEND_ONLY.uses_classifier
    assert fused.combine(0.8, 1.0, 0.0, 0.0, probability=0.5) == pytest.approx(0.25 * 0.5 + 0.75 * 0.9)
    assert ScoringWeights.from_dict({"document": 1.0}) == ScoringWeights(
        document=1.0, best=0.0, mean=0.0, lexical=0.0, classifier=0.0
    )
