"""The learned entry scorer: a class-balanced softmax classifier over phrasing embeddings (pure: numpy only).

It is trained on every phrasing of the index (question, similar and learned phrasings) plus each entry's
document, so an entry with a single phrasing still has two examples. Features are centred and scaled
(sentence embeddings share a large common component), the loss is class-balanced so entries with many
phrasings do not crowd out the others, and an L2 penalty plus a fixed number of Adam steps keep it smooth."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Matrix = npt.NDArray[np.float32]

# Bump when training or the saved format changes: indexes record it and are refused when it differs.
SCORER_VERSION = 1
SCORER_FILE = "scorer.npz"


@dataclass(frozen=True)
class TrainingConfig:
    """Softmax training settings: L2 penalty, Adam steps and learning rate, class balancing power
    (1: every entry weighs the same whatever its number of phrasings; 0: every phrasing does)."""

    l2: float = 1e-5
    steps: int = 100
    learning_rate: float = 0.05
    balance: float = 1.0

    def to_dict(self) -> dict[str, float]:
        return {"l2": self.l2, "steps": self.steps, "learning_rate": self.learning_rate, "balance": self.balance}


class ScorerFormatError(ValueError):
    """A saved scorer is unreadable or does not match its index."""


@dataclass(frozen=True)
class EntryClassifier:
    """Linear softmax over entries: ``probabilities(x) = softmax(((x - centre) / scale) @ weights)``."""

    entry_ids: tuple[str, ...]
    centre: Matrix
    scale: float
    weights: Matrix

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    def logits(self, vectors: Matrix) -> Matrix:
        """Unnormalised entry scores, one row per vector (a matrix product)."""
        features = (np.asarray(vectors, dtype=np.float32) - self.centre) / np.float32(self.scale)
        return np.ascontiguousarray(features @ self.weights, dtype=np.float32)

    def probabilities(self, vectors: Matrix) -> Matrix:
        """Entry probabilities, one row per vector; each row sums to 1."""
        return softmax(self.logits(vectors))

    def to_bytes(self) -> bytes:
        """The ``.npz`` serialisation (deterministic for identical arrays)."""
        buffer = io.BytesIO()
        np.savez(
            buffer,
            version=np.array(SCORER_VERSION),
            entry_ids=np.array(self.entry_ids, dtype=np.str_),
            centre=self.centre,
            scale=np.array(self.scale, dtype=np.float64),
            weights=self.weights,
        )
        return buffer.getvalue()

    def fingerprint(self) -> str:
        """sha256 of the arrays (recorded in the index meta, checked at load)."""
        digest = hashlib.sha256()
        digest.update("\n".join(self.entry_ids).encode("utf-8"))
        for array in (self.centre, np.array([self.scale], dtype=np.float64), self.weights):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def save(self, path: Path) -> None:
        path.write_bytes(self.to_bytes())

    @classmethod
    def load(cls, path: Path) -> EntryClassifier:
        """Read a saved scorer; raises :class:`ScorerFormatError` when it is corrupt or of another version."""
        try:
            with np.load(path, allow_pickle=False) as data:
                version = int(data["version"])
                if version != SCORER_VERSION:
                    raise ScorerFormatError(f"scorer '{path}' has version {version}, expected {SCORER_VERSION}")
                return cls(
                    entry_ids=tuple(str(item) for item in data["entry_ids"].tolist()),
                    centre=np.ascontiguousarray(data["centre"], dtype=np.float32),
                    scale=float(data["scale"]),
                    weights=np.ascontiguousarray(data["weights"], dtype=np.float32),
                )
        except (OSError, KeyError, ValueError) as exc:
            if isinstance(exc, ScorerFormatError):
                raise
            raise ScorerFormatError(f"scorer '{path}' is corrupt: {exc}") from exc

    def describe(self, training_rows: int, config: TrainingConfig) -> dict[str, Any]:
        """Metadata stored in the index meta."""
        return {
            "file": SCORER_FILE,
            "version": SCORER_VERSION,
            "sha256": self.fingerprint(),
            "entries": len(self.entry_ids),
            "dim": self.dim,
            "training_rows": training_rows,
            "config": config.to_dict(),
        }


def softmax(logits: Matrix) -> Matrix:
    """Row-wise softmax, numerically stable."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted, dtype=np.float32)
    return np.ascontiguousarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)


def train_classifier(
    vectors: Matrix,
    labels: Sequence[int],
    entry_ids: Sequence[str],
    config: TrainingConfig | None = None,
) -> EntryClassifier:
    """Fit the softmax on ``vectors`` labelled with entry positions (deterministic: zero start, full batch)."""
    config = config or TrainingConfig()
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    y = np.asarray(labels, dtype=np.int64)
    n_classes = len(entry_ids)
    if x.ndim != 2 or x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError("train_classifier needs one label per training vector (and at least one)")
    if y.min() < 0 or y.max() >= n_classes:
        raise ValueError("labels must be entry positions")
    centre = x.mean(axis=0).astype(np.float32)
    centred = x - centre
    scale = float(np.sqrt(np.mean(np.sum(centred * centred, axis=1)))) or 1.0
    features = np.ascontiguousarray(centred / np.float32(scale), dtype=np.float32)
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    sample_weights = counts[y] ** np.float32(-config.balance)
    sample_weights = (sample_weights / sample_weights.sum()).astype(np.float32)[:, None]
    weights = _adam(features, y, n_classes, sample_weights, config)
    return EntryClassifier(tuple(entry_ids), centre, scale, weights)


def _adam(
    features: Matrix, y: npt.NDArray[np.int64], n_classes: int, sample_weights: Matrix, config: TrainingConfig
) -> Matrix:
    """Full-batch Adam on the weighted softmax cross-entropy plus ``l2 / 2 * |W|^2``."""
    rows = np.arange(features.shape[0])
    weights = np.zeros((features.shape[1], n_classes), dtype=np.float32)
    first = np.zeros_like(weights)
    second = np.zeros_like(weights)
    beta1, beta2, epsilon = 0.9, 0.999, 1e-8
    for step in range(1, config.steps + 1):
        residual = softmax(features @ weights)
        residual[rows, y] -= 1.0
        gradient = features.T @ (residual * sample_weights) + np.float32(config.l2) * weights
        first = beta1 * first + (1 - beta1) * gradient
        second = beta2 * second + (1 - beta2) * gradient * gradient
        corrected_first = first / (1 - beta1**step)
        corrected_second = second / (1 - beta2**step)
        weights -= (config.learning_rate * corrected_first / (np.sqrt(corrected_second) + epsilon)).astype(np.float32)
    return weights
