"""Figures of a method over labelled queries: top-1, answered precision at a fixed out-of-scope
rejection rate, latency percentiles (pure, no I/O)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from knowledge_base.evaluation import share

TopHit = tuple[str | None, float]
Item = TypeVar("Item")


def rejection_threshold(out_of_scope_scores: Sequence[float], rate: float) -> float:
    """The score at or below which ``rate`` of the out-of-scope queries fall: answering only queries that
    score above it rejects at least that share of them (more when scores tie). -inf without such queries."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"a rejection rate lies within 0..1, not {rate}")
    if not out_of_scope_scores or rate == 0.0:
        return -math.inf
    ordered = sorted(out_of_scope_scores)
    return ordered[max(math.ceil(rate * len(ordered)) - 1, 0)]


def figures(tops: Sequence[TopHit], expected: Sequence[str | None], rejection_rate: float) -> dict[str, Any]:
    """top1 over in-scope queries; with the threshold that rejects ``rejection_rate`` of the out-of-scope
    (expected None) queries: the share of them actually rejected, the share of in-scope queries answered
    and the precision of those answers (right top-1 over answered in-scope queries)."""
    if len(tops) != len(expected):
        raise ValueError("one top hit per query")
    in_scope = [(top, want) for top, want in zip(tops, expected, strict=True) if want is not None]
    out_scores = [score for (_, score), want in zip(tops, expected, strict=True) if want is None]
    threshold = rejection_threshold(out_scores, rejection_rate)
    answered = [(top_id, want) for (top_id, score), want in in_scope if score > threshold]
    return {
        "top1": share(sum(top_id == want for (top_id, _), want in in_scope), len(in_scope)),
        "answered_precision": share(sum(top_id == want for top_id, want in answered), len(answered)),
        "answered_rate": share(len(answered), len(in_scope)),
        "out_of_scope_rejected": share(sum(score <= threshold for score in out_scores), len(out_scores)),
        "threshold": round(threshold, 6) if math.isfinite(threshold) else None,
    }


def latency_figures(latencies_ms: Sequence[float]) -> dict[str, float | None]:
    """p50 and p95 in milliseconds (numpy's linear interpolation); None without samples."""
    if not latencies_ms:
        return {"latency_ms_p50": None, "latency_ms_p95": None}
    values = np.asarray(latencies_ms, dtype=np.float64)
    return {
        "latency_ms_p50": round(float(np.percentile(values, 50)), 4),
        "latency_ms_p95": round(float(np.percentile(values, 95)), 4),
    }


def evenly_spread(items: Sequence[Item], count: int) -> list[Item]:
    """At most ``count`` items picked at even steps through ``items`` (deterministic)."""
    if count >= len(items):
        return list(items)
    if count <= 0:
        return []
    step = len(items) / count
    return [items[int(i * step)] for i in range(count)]
