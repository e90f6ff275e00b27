"""Turning scored phrasings into entry hits and a band decision (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from knowledge_base.models import Band, FaqEntry, Hit, Retrieval, ScoreBands

SUGGESTION_COUNT = 3


@dataclass(frozen=True)
class ScoredPhrasing:
    """One candidate phrasing with its fused similarity to the query."""

    entry: FaqEntry
    phrasing: str
    score: float


def fuse(dense: float, lexical: float, lexical_weight: float) -> float:
    """Blend the dense cosine with the lexical similarity."""
    return (1.0 - lexical_weight) * dense + lexical_weight * lexical


def best_per_entry(candidates: Iterable[ScoredPhrasing]) -> list[Hit]:
    """One hit per entry, scored by its best phrasing, best first (ties by entry id)."""
    best: dict[str, Hit] = {}
    for candidate in candidates:
        current = best.get(candidate.entry.id)
        if current is None or candidate.score > current.score:
            best[candidate.entry.id] = Hit(candidate.entry, candidate.score, candidate.phrasing)
    return sorted(best.values(), key=lambda hit: (-hit.score, hit.entry.id))


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
