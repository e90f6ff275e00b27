"""Turning scored phrasings into entry hits and a band decision (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowledge_base.models import Band, Hit, Retrieval, ScoreBands

SUGGESTION_COUNT = 3


@dataclass(frozen=True)
class ScoringWeights:
    """How an entry's score blends its signals. The cosine blend (its four weights sum to 1):
    ``document``: query vs the entry document (question, tags and answer, encoded as a passage);
    ``best``: the best-matching phrasing; ``mean``: the mean over its phrasings;
    ``lexical``: character-bigram similarity of the best lexical phrasing.
    ``classifier`` (0 to 1) is the share of the learned scorer's entry probability in the fused score:
    ``classifier * probability + (1 - classifier) * blend``; 0 is the cosine blend alone."""

    document: float = 0.39
    best: float = 0.39
    mean: float = 0.2
    lexical: float = 0.02
    classifier: float = 0.3

    def __post_init__(self) -> None:
        weights = (self.document, self.best, self.mean, self.lexical)
        if any(w < 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"scoring weights must be non-negative and sum to 1, got {weights}")
        if not 0.0 <= self.classifier <= 1.0:
            raise ValueError(f"the classifier share must be between 0 and 1, got {self.classifier}")

    def blend(self, document: float, best: float, mean: float, lexical: float) -> float:
        """The cosine blend alone."""
        return self.document * document + self.best * best + self.mean * mean + self.lexical * lexical

    def combine(self, document: float, best: float, mean: float, lexical: float, probability: float = 0.0) -> float:
        """The entry score."""
        blend = self.blend(document, best, mean, lexical)
        return self.classifier * probability + (1.0 - self.classifier) * blend

    @property
    def uses_classifier(self) -> bool:
        return self.classifier > 0.0

    def to_dict(self) -> dict[str, float]:
        return {
            "document": self.document,
            "best": self.best,
            "mean": self.mean,
            "lexical": self.lexical,
            "classifier": self.classifier,
        }

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> ScoringWeights:
        """Rebuild from :meth:`to_dict` output; a missing ``classifier`` share means the cosine blend alone."""
        return cls(**{key: float(data.get(key, 0.0)) for key in WEIGHT_NAMES})


WEIGHT_NAMES = ("document", "best", "mean", "lexical", "classifier")
# Today's scoring before the learned scorer: the cosine blend alone (kept for comparisons).
BLEND_ONLY = ScoringWeights(classifier=0.0)


def top_margin(hits: Sequence[Hit]) -> float:
    """Score gap between the best and the second-best entry (the best score if there is one entry)."""
    if not hits:
        return 0.0
    if len(hits) == 1:
        return hits[0].score
    return hits[0].score - hits[1].score


def decide_band(hits: Sequence[Hit], bands: ScoreBands) -> Band:
    """Answer a confident, unambiguous best hit; suggest plausible ones; escalate the rest."""
    if not hits:
        return Band.ESCALATE
    score = hits[0].score
    if score >= bands.answer and top_margin(hits) >= bands.margin:
        return Band.ANSWER
    if score >= bands.suggest:
        return Band.SUGGEST
    return Band.ESCALATE


def make_retrieval(query: str, hits: Sequence[Hit], bands: ScoreBands, k: int) -> Retrieval:
    """A retrieval keeping ``k`` hits (at least the suggestion count when suggesting)."""
    band = decide_band(hits, bands)
    keep = max(k, SUGGESTION_COUNT) if band is Band.SUGGEST else k
    return Retrieval(query=query, band=band, hits=tuple(hits[:keep]))
