"""Choosing score bands from labelled retrieval outcomes (pure: numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from knowledge_base.models import ScoreBands

TARGET_PRECISION = 0.95
MAX_OUT_OF_SCOPE = 0.05
MARGIN_GRID = (0.0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1)
FALLBACK_BANDS = ScoreBands(answer=0.92, suggest=0.86, margin=0.0)


@dataclass(frozen=True)
class Outcome:
    """What retrieval returned for one labelled query.

    ``expected`` is the right entry id, or None when no entry should answer."""

    score: float
    margin: float
    top_ids: tuple[str, ...]
    expected: str | None

    @property
    def top1_correct(self) -> bool:
        return self.expected is not None and bool(self.top_ids) and self.top_ids[0] == self.expected

    def in_top(self, k: int) -> bool:
        return self.expected is not None and self.expected in self.top_ids[:k]


@dataclass(frozen=True)
class Calibration:
    """Chosen bands and the figures they reach on the calibration outcomes."""

    bands: ScoreBands
    feasible: bool
    answerable: int
    out_of_scope: int
    answered_rate: float
    answered_precision: float
    out_of_scope_accepted: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bands": self.bands.to_dict(),
            "feasible": self.feasible,
            "answerable": self.answerable,
            "out_of_scope": self.out_of_scope,
            "answered_rate": round(self.answered_rate, 4),
            "answered_precision": round(self.answered_precision, 4),
            "out_of_scope_accepted": round(self.out_of_scope_accepted, 4),
            **self.extra,
        }


@dataclass(frozen=True)
class _Point:
    threshold: float
    margin: float
    rate: float
    precision: float
    oos: float


def _midpoint_below(scores: np.ndarray, threshold: float) -> float:
    """Halfway between ``threshold`` and the next lower observed score (a max-margin cut)."""
    below = scores[scores < threshold]
    return float((threshold + below.max()) / 2.0) if below.size else threshold


def _answer_points(outcomes: Sequence[Outcome], margin: float) -> list[_Point]:
    scores = np.array([o.score for o in outcomes], dtype=np.float64)
    margins = np.array([o.margin for o in outcomes], dtype=np.float64)
    answerable = np.array([o.expected is not None for o in outcomes])
    correct = np.array([o.top1_correct for o in outcomes])
    n_answerable = max(int(answerable.sum()), 1)
    n_null = int((~answerable).sum())
    eligible = margins >= margin
    points: list[_Point] = []
    for threshold in np.unique(scores[eligible]):
        answered = eligible & (scores >= threshold)
        total = int(answered.sum())
        hits = int((answered & correct).sum())
        nulls = int((answered & ~answerable).sum())
        points.append(
            _Point(
                threshold=float(threshold),
                margin=margin,
                rate=int((answered & answerable).sum()) / n_answerable,
                precision=hits / total if total else 1.0,
                oos=nulls / n_null if n_null else 0.0,
            )
        )
    return points


def _suggest_threshold(outcomes: Sequence[Outcome], answer: float, k: int) -> float:
    """Maximise (share of helpful suggestions kept) - (share of out-of-scope queries suggested)
    among queries below the answer threshold."""
    rest = [o for o in outcomes if o.score < answer]
    helpful = np.array([o.score for o in rest if o.in_top(k)], dtype=np.float64)
    nulls = np.array([o.score for o in rest if o.expected is None], dtype=np.float64)
    candidates = np.unique(np.concatenate([helpful, nulls])) if rest else np.array([])
    if helpful.size == 0 or candidates.size == 0:
        return answer
    best_value, best_threshold = -np.inf, answer
    for threshold in candidates:
        kept = float((helpful >= threshold).mean())
        leaked = float((nulls >= threshold).mean()) if nulls.size else 0.0
        value = kept - leaked
        if value > best_value:
            best_value, best_threshold = value, float(threshold)
    all_scores = np.array([o.score for o in rest], dtype=np.float64)
    return min(_midpoint_below(all_scores, best_threshold), answer)


def calibrate(
    outcomes: Sequence[Outcome],
    *,
    target_precision: float = TARGET_PRECISION,
    max_out_of_scope: float = MAX_OUT_OF_SCOPE,
    margin_grid: Sequence[float] = MARGIN_GRID,
    suggest_k: int = 3,
) -> Calibration:
    """Pick (answer, margin) maximising the answered rate under the precision and out-of-scope limits,
    then a lower suggest threshold. Infeasible data gives bands that answer nothing observed."""
    answerable = sum(o.expected is not None for o in outcomes)
    nulls = len(outcomes) - answerable
    if answerable == 0:
        raise ValueError("calibration needs at least one answerable query")
    feasible = [
        point
        for margin in margin_grid
        for point in _answer_points(outcomes, margin)
        if point.precision >= target_precision and point.oos <= max_out_of_scope
    ]
    scores = np.array([o.score for o in outcomes], dtype=np.float64)
    if feasible:
        best = max(feasible, key=lambda p: (p.rate, p.precision, -p.margin, p.threshold))
        answer = _midpoint_below(scores, best.threshold)
        margin = best.margin
        # Re-measure at the midpoint (it can admit nothing new: no score lies strictly between).
        chosen = best
    else:
        answer = float(scores.max()) + 1e-6
        margin = 0.0
        chosen = _Point(answer, 0.0, 0.0, 1.0, 0.0)
    suggest = _suggest_threshold(outcomes, answer, suggest_k)
    return Calibration(
        bands=ScoreBands(answer=answer, suggest=suggest, margin=margin),
        feasible=bool(feasible),
        answerable=answerable,
        out_of_scope=nulls,
        answered_rate=chosen.rate,
        answered_precision=chosen.precision,
        out_of_scope_accepted=chosen.oos,
    )
