from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_base.encoders import normalise_rows
from knowledge_base.scorer import (
    SCORER_VERSION,
    EntryClassifier,
    ScorerFormatError,
    TrainingConfig,
    softmax,
    train_classifier,
)


def clustered(n_per_class: tuple[int, ...], dim: int = 16, seed: int = 0) -> tuple[np.ndarray, list[int], np.ndarray]:
    """Unit vectors around one random centre per class (with a shared component, like sentence embeddings)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(n_per_class), dim)) + 3.0
    vectors, labels = [], []
    for label, count in enumerate(n_per_class):
        vectors.append(centres[label] + 0.3 * rng.normal(size=(count, dim)))
        labels += [label] * count
    return normalise_rows(np.vstack(vectors)), labels, normalise_rows(centres)


def test_softmax_rows_sum_to_one_and_are_stable() -> None:
    probabilities = softmax(np.array([[1000.0, 1000.0], [0.0, -1000.0]], dtype=np.float32))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert np.allclose(probabilities[0], [0.5, 0.5])


def test_classifier_separates_classes_and_is_deterministic() -> None:
    vectors, labels, centres = clustered((6, 6, 6))
    ids = ["a", "b", "c"]
    first = train_classifier(vectors, labels, ids)
    second = train_classifier(vectors, labels, ids)
    assert first.fingerprint() == second.fingerprint()
    assert first.probabilities(centres).argmax(axis=1).tolist() == [0, 1, 2]
    assert np.allclose(first.probabilities(vectors).sum(axis=1), 1.0, atol=1e-5)
    assert first.dim == 16 and first.entry_ids == tuple(ids)


def test_class_balance_keeps_a_large_class_from_crowding_out_a_small_one() -> None:
    vectors, labels, _ = clustered((40, 2), seed=3)
    midpoint = normalise_rows(vectors.mean(axis=0))  # the centre of all phrasings, nearer the big class
    balanced = train_classifier(vectors, labels, ["big", "small"], TrainingConfig(balance=1.0))
    unbalanced = train_classifier(vectors, labels, ["big", "small"], TrainingConfig(balance=0.0))
    assert balanced.probabilities(midpoint)[0, 1] > unbalanced.probabilities(midpoint)[0, 1]


def test_training_refuses_bad_labels() -> None:
    vectors, labels, _ = clustered((2, 2))
    with pytest.raises(ValueError, match="entry positions"):
        train_classifier(vectors, [0, 1, 2, 5], ["a", "b"])
    with pytest.raises(ValueError, match="one label per"):
        train_classifier(vectors, labels[:2], ["a", "b"])


def test_save_load_round_trip_and_refusals(tmp_path: Path) -> None:
    vectors, labels, _ = clustered((3, 3))
    classifier = train_classifier(vectors, labels, ["科创", "两融"])
    path = tmp_path / "scorer.npz"
    classifier.save(path)
    loaded = EntryClassifier.load(path)
    assert loaded.fingerprint() == classifier.fingerprint() and loaded.entry_ids == ("科创", "两融")
    described = classifier.describe(6, TrainingConfig())
    assert described["version"] == SCORER_VERSION and described["sha256"] == classifier.fingerprint()
    path.write_bytes(b"garbage")
    with pytest.raises(ScorerFormatError, match="corrupt"):
        EntryClassifier.load(path)
    np.savez(path, version=np.array(SCORER_VERSION + 1))
    with pytest.raises(ScorerFormatError, match="version"):
        EntryClassifier.load(path)
