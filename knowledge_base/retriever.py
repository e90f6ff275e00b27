"""Turning scored phrasings into entry hits and a band decision (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowledge_base.models import Band, Hit, Retrieval, ScoreBands

SUGGESTION_COUNT = 3


@dataclass(frozen=True)
class ScoringWeights:
    """How an entry's score blends its signals (weights sum to 1 so scores stay cosine-like):
    ``document``: query vs the entry document (question, tags and answer, encoded as a passage);
    ``best``: the best-matching phrasing; ``mean``: the mean over its phrasings;
    ``lexical``: character-bigram similarity of the best lexical phrasing."""

    document: float = 0.39
    best: float = 0.39
    mean: float = 0.2
    lexical: float = 0.02

    def __post_init__(self) -> None:
        weights = (self.document, self.best, self.mean, self.lexical)
        if any(w < 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"scoring weights must be non-negative and sum to 1, got {weights}")

    def combine(self, document: float, best: float, mean: float, lexical: float) -> float:
        """The entry score."""
        return self.document * document + self.best * best + self.mean * mean + self.lexical * lexical

    def to_dict(self) -> dict[str, float]:
        return {"document": self.document, "best": self.best, "mean": self.mean, "lexical": self.lexical}

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> ScoringWeights:
        return cls(**{key: float(data.get(key, 0.0)) for key in ("document", "best", "mean", "lexical")})


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
