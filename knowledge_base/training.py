"""Assembling engines from encoded phrasings: train the learned scorer and index the vectors.

Builds, ``learn`` and the cross-validated calibration all go through :func:`assemble`, so the scorer is
retrained whenever the phrasings change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from knowledge_base.encoders.base import Encoder, Vectors
from knowledge_base.engine import Engine
from knowledge_base.index import PhrasingRow, VectorIndex, build_flat_index, build_vector_index
from knowledge_base.models import FaqEntry
from knowledge_base.retriever import ScoringWeights
from knowledge_base.scorer import EntryClassifier, TrainingConfig, train_classifier


@dataclass(frozen=True)
class Materials:
    """Everything an engine is made from: entries, their phrasing rows and the encoded vectors
    (``row_vectors[i]`` is ``rows[i]``; ``document_vectors[j]`` is ``entries[j]``'s document)."""

    encoder: Encoder
    entries: tuple[FaqEntry, ...]
    rows: tuple[PhrasingRow, ...]
    row_vectors: Vectors
    document_vectors: Vectors
    weights: ScoringWeights = field(default_factory=ScoringWeights)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self) -> None:
        if self.row_vectors.shape[0] != len(self.rows) or self.document_vectors.shape[0] != len(self.entries):
            raise ValueError("materials need one vector per row and one document vector per entry")


@dataclass(frozen=True)
class Assembled:
    """An engine with the parts to save: the phrasing and document indexes and the scorer."""

    engine: Engine
    vector_index: VectorIndex
    document_index: VectorIndex
    classifier: EntryClassifier | None
    training_rows: int


def train_scorer(
    entries: Sequence[FaqEntry],
    rows: Sequence[PhrasingRow],
    row_vectors: Vectors,
    document_vectors: Vectors,
    config: TrainingConfig,
) -> tuple[EntryClassifier, int]:
    """The learned scorer over every phrasing row plus each entry's document; returns it and its row count."""
    position = {entry.id: i for i, entry in enumerate(entries)}
    labels = [position[row.entry_id] for row in rows] + list(range(len(entries)))
    vectors = np.vstack([row_vectors, document_vectors]).astype(np.float32)
    classifier = train_classifier(vectors, labels, [entry.id for entry in entries], config)
    return classifier, len(labels)


def assemble(
    materials: Materials,
    keep: npt.NDArray[np.bool_] | None = None,
    *,
    hnsw_threshold: int | None = None,
    weights: ScoringWeights | None = None,
) -> Assembled:
    """An engine over the rows selected by ``keep`` (all by default). Without ``hnsw_threshold`` the
    phrasing index is exact (as cross-validation folds use); the scorer is trained only when the weights
    give it a share."""
    weights = weights or materials.weights
    rows = materials.rows
    vectors = materials.row_vectors
    if keep is not None:
        rows = tuple(row for row, kept in zip(rows, keep.tolist(), strict=True) if kept)
        vectors = np.ascontiguousarray(vectors[keep])
    classifier: EntryClassifier | None = None
    training_rows = 0
    if weights.uses_classifier:
        classifier, training_rows = train_scorer(
            materials.entries, rows, vectors, materials.document_vectors, materials.training
        )
    vector_index = build_vector_index(vectors, hnsw_threshold) if hnsw_threshold else build_flat_index(vectors)
    document_index = build_flat_index(materials.document_vectors)
    engine = Engine(
        materials.encoder,
        vector_index,
        rows,
        materials.entries,
        document_index,
        weights=weights,
        classifier=classifier,
    )
    return Assembled(engine, vector_index, document_index, classifier, training_rows)
