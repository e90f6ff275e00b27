"""Percentiles, summaries, spreads and ratios."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from handoff_api.bench.stats import paired_ratios, percentile, ratio, spread, summarise


@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 95, 99, 100])
def test_percentile_matches_numpy_linear_interpolation(q: float) -> None:
    values = [random.Random(n).expovariate(0.01) for n in range(257)]
    assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_of_few_values() -> None:
    assert percentile([5.0], 95) == 5.0
    assert percentile([10.0, 20.0], 50) == 15.0
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0


def test_percentile_of_nothing_is_missing_not_zero() -> None:
    assert math.isnan(percentile([], 50))


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_outside_0_to_100_is_refused(q: float) -> None:
    with pytest.raises(ValueError):
        percentile([1.0], q)


def test_summary_counts_turns_errors_and_rate() -> None:
    summary = summarise([10.0, 20.0, 30.0, 40.0], ["timeout", "HTTP 503", "timeout"], seconds=2.0)
    assert (summary.ok, summary.errors) == (4, 3)
    assert summary.per_second == 2.0
    assert summary.p50 == 25.0
    assert summary.error_kinds == (("timeout", 2), ("HTTP 503", 1))
    assert summary.error_rate == pytest.approx(3 / 7)


def test_summary_of_an_empty_run() -> None:
    summary = summarise([], [], seconds=0.0)
    assert summary.per_second == 0.0 and summary.error_rate == 0.0 and math.isnan(summary.p95)


def test_spread_is_median_low_high_of_finite_values() -> None:
    values = spread([3.0, 1.0, math.nan, 2.0, 10.0])
    assert (values.median, values.low, values.high) == (2.5, 1.0, 10.0)
    assert values.relative == pytest.approx(9 / 2.5)
    assert math.isnan(spread([]).median)


def test_ratio_is_missing_without_a_baseline() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert math.isnan(ratio(3.0, 0.0))
    assert math.isnan(ratio(math.nan, 2.0))


def test_paired_ratios_pair_rounds_in_order() -> None:
    ratios = paired_ratios([100.0, 300.0, 200.0], [50.0, 100.0, 200.0])
    assert (ratios.median, ratios.low, ratios.high) == (2.0, 1.0, 3.0)
    with pytest.raises(ValueError):
        paired_ratios([1.0], [1.0, 2.0])
