from __future__ import annotations

import numpy as np
import pytest

from knowledge_base.calibration import Outcome, calibrate


def right(score: float, margin: float = 0.1) -> Outcome:
    return Outcome(score, margin, ("a", "b", "c"), "a")


def wrong(score: float, margin: float = 0.1, in_top3: bool = True) -> Outcome:
    return Outcome(score, margin, ("b", "a", "c") if in_top3 else ("b", "c", "d"), "a")


def null(score: float, margin: float = 0.1) -> Outcome:
    return Outcome(score, margin, ("b", "c", "d"), None)


def answered(outcomes: list[Outcome], answer: float, margin: float) -> list[Outcome]:
    return [o for o in outcomes if o.score >= answer and o.margin >= margin]


def test_threshold_separates_right_answers_from_off_topic() -> None:
    outcomes = [right(s) for s in np.linspace(0.90, 0.99, 40)] + [null(s) for s in np.linspace(0.70, 0.85, 40)]
    result = calibrate(outcomes)
    assert result.feasible
    assert 0.85 < result.bands.answer <= 0.90  # halfway into the gap, admitting every right answer
    assert result.answered_rate == 1.0 and result.answered_precision == 1.0
    assert result.bands.suggest <= result.bands.answer


def test_constraints_hold_on_the_calibration_data() -> None:
    rng = np.random.default_rng(1)
    outcomes = [
        right(float(s), float(m)) for s, m in zip(rng.normal(0.92, 0.02, 300), rng.uniform(0, 0.1, 300), strict=True)
    ]
    outcomes += [
        wrong(float(s), float(m)) for s, m in zip(rng.normal(0.89, 0.02, 60), rng.uniform(0, 0.02, 60), strict=True)
    ]
    outcomes += [null(float(s)) for s in rng.normal(0.86, 0.02, 100)]
    result = calibrate(outcomes)
    chosen = answered(outcomes, result.bands.answer, result.bands.margin)
    precision = sum(o.top1_correct for o in chosen) / len(chosen)
    oos = sum(o.expected is None for o in chosen) / 100
    assert precision >= 0.95 and oos <= 0.05
    assert result.answered_precision == pytest.approx(precision)
    assert result.answered_rate > 0.5


def test_margin_rescues_ambiguous_high_scores() -> None:
    # wrong answers score as high as right ones but always with a tiny margin
    outcomes = [right(0.95, 0.05) for _ in range(50)] + [wrong(0.95, 0.001) for _ in range(20)]
    result = calibrate(outcomes)
    assert result.bands.margin > 0.001
    assert result.answered_rate == pytest.approx(50 / 70)
    assert result.answered_precision == 1.0


def test_infeasible_targets_answer_nothing_observed() -> None:
    outcomes = [wrong(0.95) for _ in range(10)] + [right(0.90) for _ in range(2)]
    result = calibrate(outcomes)
    assert not result.feasible
    assert result.bands.answer > 0.95
    assert result.answered_rate == 0.0


def test_suggest_threshold_keeps_useful_suggestions_and_drops_noise() -> None:
    outcomes = [right(0.95) for _ in range(20)]
    outcomes += [wrong(0.85, in_top3=True) for _ in range(20)]  # suggestions would help
    outcomes += [null(0.70) for _ in range(20)]
    result = calibrate(outcomes)
    assert 0.70 < result.bands.suggest <= 0.85


def test_needs_an_answerable_query() -> None:
    with pytest.raises(ValueError):
        calibrate([null(0.5)])
