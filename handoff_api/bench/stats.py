"""Percentiles, run summaries, the spread of repeated rounds and ratios (pure, no I/O)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default).

    NaN for no values, so an empty run never passes for a fast one.
    """
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class Summary:
    """One measured run: how many turns, how long, the latency percentiles and the errors by kind."""

    ok: int
    errors: int
    seconds: float
    p50: float
    p95: float
    p99: float
    error_kinds: tuple[tuple[str, int], ...] = ()

    @property
    def per_second(self) -> float:
        """Successful operations per second of wall time."""
        return self.ok / self.seconds if self.seconds > 0 else 0.0

    @property
    def error_rate(self) -> float:
        """Errors over all attempts (0 for none)."""
        attempts = self.ok + self.errors
        return self.errors / attempts if attempts else 0.0


def summarise(latencies_ms: Sequence[float], errors: Iterable[str], seconds: float) -> Summary:
    """A Summary of successful latencies (ms), the error kinds seen and the run's wall time."""
    kinds = Counter(errors)
    return Summary(
        ok=len(latencies_ms),
        errors=sum(kinds.values()),
        seconds=seconds,
        p50=percentile(latencies_ms, 50),
        p95=percentile(latencies_ms, 95),
        p99=percentile(latencies_ms, 99),
        error_kinds=tuple(sorted(kinds.items(), key=lambda item: (-item[1], item[0]))),
    )


@dataclass(frozen=True)
class Spread:
    """The median of repeated rounds and their lowest and highest value."""

    median: float
    low: float
    high: float

    @property
    def relative(self) -> float:
        """(high - low) / median: how much the rounds disagree (0 for one round)."""
        return (self.high - self.low) / self.median if self.median else math.nan


def spread(values: Sequence[float]) -> Spread:
    """Median, low and high of the finite values (NaN throughout when there is none)."""
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        return Spread(math.nan, math.nan, math.nan)
    return Spread(statistics.median(finite), min(finite), max(finite))


def ratio(subject: float, baseline: float) -> float:
    """subject / baseline; NaN when either is missing or the baseline is zero."""
    if not (math.isfinite(subject) and math.isfinite(baseline)) or baseline == 0:
        return math.nan
    return subject / baseline


def paired_ratios(subjects: Sequence[float], baselines: Sequence[float]) -> Spread:
    """The spread of per-round ratios (round i of the subject over round i of its baseline)."""
    return spread([ratio(s, b) for s, b in zip(subjects, baselines, strict=True)])
