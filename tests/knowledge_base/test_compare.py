"""The comparison's methods, metrics and scale measurements on a tiny corpus."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.builder import phrasing_rows
from knowledge_base.compare_methods import (
    Bm25Method,
    EncoderMethod,
    Method,
    TfidfMethod,
    best_row,
    interleaved_latencies,
)
from knowledge_base.compare_metrics import evenly_spread, figures, latency_figures, rejection_threshold
from knowledge_base.compare_scale import (
    flat_index,
    ivf_index,
    ivf_parameters,
    measure_size,
    recall_at_k,
    search_one_by_one,
    synthesise,
)
from knowledge_base.corpus import load_corpus
from knowledge_base.encoders import normalise_rows

from .conftest import CharEncoder


def test_a_phrasing_asked_verbatim_is_top1_for_every_baseline(sample_corpus: Path, char_encoder: CharEncoder) -> None:
    rows = phrasing_rows(load_corpus([sample_corpus]), index_answers=False)
    methods: list[Method] = [EncoderMethod.build(char_encoder, rows), Bm25Method(rows), TfidfMethod(rows)]
    for row in rows:
        for method in methods:
            entry_id, score = method.top(row.text)
            assert entry_id == row.entry_id, (type(method).__name__, row.text)
            assert score > 0
    encoder = methods[0]
    assert isinstance(encoder, EncoderMethod)
    assert encoder.top(rows[0].text)[1] == pytest.approx(1.0, abs=1e-5)


def test_methods_without_words_or_rows_answer_nothing(sample_corpus: Path) -> None:
    rows = phrasing_rows(load_corpus([sample_corpus]), index_answers=False)
    assert Bm25Method(rows).top("   ") == (None, 0.0)
    assert best_row([], []) == (None, 0.0)


def test_rejection_threshold_rejects_the_stated_share() -> None:
    scores = [0.1 * i for i in range(1, 11)]
    threshold = rejection_threshold(scores, 0.9)
    assert sum(s <= threshold for s in scores) == 9
    assert rejection_threshold([], 0.9) == -math.inf
    with pytest.raises(ValueError):
        rejection_threshold(scores, 1.5)


def test_figures_answer_only_above_the_out_of_scope_threshold() -> None:
    tops = [("a", 0.9), ("x", 0.8), ("b", 0.4), ("c", 0.2), (None, 0.0), ("z", 0.5)]
    expected = ["a", "b", "b", "c", None, None]
    found = figures(tops, expected, rejection_rate=1.0)
    assert found["top1"] == 0.75
    assert found["threshold"] == 0.5 and found["out_of_scope_rejected"] == 1.0
    assert found["answered_rate"] == 0.5 and found["answered_precision"] == 0.5
    with pytest.raises(ValueError):
        figures(tops, expected[:2], 0.9)


def test_latency_figures_and_even_picks() -> None:
    assert latency_figures([1.0, 2.0, 3.0]) == {"latency_ms_p50": 2.0, "latency_ms_p95": 2.9}
    assert latency_figures([]) == {"latency_ms_p50": None, "latency_ms_p95": None}
    assert evenly_spread(["a", "b", "c", "d"], 2) == ["a", "c"]
    assert evenly_spread(["a"], 5) == ["a"] and evenly_spread(["a"], 0) == []


def test_interleaved_latencies_time_every_method_on_every_query(sample_corpus: Path) -> None:
    rows = phrasing_rows(load_corpus([sample_corpus]), index_answers=False)
    found = interleaved_latencies({"bm25": Bm25Method(rows), "tfidf": TfidfMethod(rows)}, ["开户", "密码", "ETF"])
    assert {name: len(values) for name, values in found.items()} == {"bm25": 3, "tfidf": 3}
    assert all(value >= 0 for values in found.values() for value in values)


def unit_vectors(count: int, dim: int = 16, seed: int = 1) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((count, dim)).astype(np.float32)
    return normalise_rows(vectors)


def test_synthesised_vectors_are_deterministic_unit_rows() -> None:
    base = unit_vectors(7)
    first, again = synthesise(base, 50, seed=3), synthesise(base, 50, seed=3)
    assert first.shape == (50, 16) and np.array_equal(first, again)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert not np.array_equal(first, synthesise(base, 50, seed=4))
    with pytest.raises(ValueError):
        synthesise(base[:0], 5)


def test_flat_recall_against_itself_is_one_and_ivf_is_close() -> None:
    vectors = synthesise(unit_vectors(40), 2_000)
    queries = unit_vectors(12, seed=9)
    exact, latencies = search_one_by_one(flat_index(vectors), queries)
    assert recall_at_k(exact, exact) == 1.0 and len(latencies) == 12
    parameters = ivf_parameters(2_000)
    assert parameters.nlist == 51 and 1 <= parameters.nprobe <= parameters.nlist
    found, _ = search_one_by_one(ivf_index(vectors, parameters), queries)
    assert 0.5 <= recall_at_k(found, exact) <= 1.0
    with pytest.raises(ValueError):
        recall_at_k(found[:3], exact)


def test_ivf_parameters_stay_within_the_data() -> None:
    assert ivf_parameters(10).nlist == 1 and ivf_parameters(10).nprobe == 1
    big = ivf_parameters(100_000)
    assert big.nlist == 1_265 and big.nprobe == 79


def test_measure_size_reports_both_kinds() -> None:
    found = measure_size(unit_vectors(30), 500, unit_vectors(5, seed=2))
    assert found["flat"]["recall_at_10"] == 1.0
    for kind in ("flat", "approximate"):
        assert set(found[kind]) >= {"latency_ms_p50", "latency_ms_p95", "recall_at_10", "memory_mib", "build_seconds"}
        assert found[kind]["memory_mib"] > 0
    assert {"nlist", "nprobe"} <= set(found["approximate"])
