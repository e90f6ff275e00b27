"""The retrieval engine: canonicalise, encode, gather candidate entries, score them, rank them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np
import numpy.typing as npt

from knowledge_base.encoders.base import Encoder, Vectors
from knowledge_base.index import PhrasingRow, VectorIndex
from knowledge_base.lexical import LexicalScorer
from knowledge_base.models import FaqEntry, Hit
from knowledge_base.normalize import canonical
from knowledge_base.retriever import ScoringWeights
from knowledge_base.scorer import EntryClassifier

CANDIDATE_ROWS = 64
CANDIDATE_DOCUMENTS = 24
CANDIDATE_CLASSIFIER = 8
ENCODE_BATCH = 64

IntArray = npt.NDArray[np.int64]


def entry_document(entry: FaqEntry) -> str:
    """The passage that stands for an entry: question, tags and answer."""
    return " ".join([entry.question, *entry.tags, entry.answer])


def encode_batched(
    encoder: Encoder,
    texts: Sequence[str],
    progress: Callable[[int], None] | None = None,
    prepare: Callable[[str], str] = canonical,
    passages: bool = False,
) -> Vectors:
    """Encode prepared (by default canonical) texts in batches, reporting progress per batch.

    ``passages`` uses the encoder's document side when it has one (``encode_passages``)."""
    encode = getattr(encoder, "encode_passages", encoder.encode) if passages else encoder.encode
    chunks: list[Vectors] = []
    for start in range(0, len(texts), ENCODE_BATCH):
        batch = [prepare(text) for text in texts[start : start + ENCODE_BATCH]]
        chunks.append(encode(batch))
        if progress is not None:
            progress(len(batch))
    if not chunks:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return np.ascontiguousarray(np.vstack(chunks), dtype=np.float32)


class Engine:
    """Scores entries for queries from a phrasing index, entry-document vectors and (when the weights
    give it a share) the learned entry classifier."""

    def __init__(
        self,
        encoder: Encoder,
        phrasing_index: VectorIndex,
        rows: Sequence[PhrasingRow],
        entries: Sequence[FaqEntry],
        document_index: VectorIndex,
        *,
        weights: ScoringWeights | None = None,
        classifier: EntryClassifier | None = None,
        prepare: Callable[[str], str] = canonical,
    ) -> None:
        self.encoder = encoder
        self.phrasing_index = phrasing_index
        self.document_index = document_index
        self.rows = list(rows)
        self.entry_list = list(entries)
        self.entries = {entry.id: entry for entry in self.entry_list}
        self.weights = weights or ScoringWeights()
        if self.weights.uses_classifier:
            if classifier is None:
                raise ValueError("these scoring weights give the learned scorer a share but no scorer was given")
            if classifier.entry_ids != tuple(entry.id for entry in self.entry_list):
                raise ValueError("the learned scorer was trained for other entries than the index holds")
        self.classifier = classifier
        self.prepare = prepare
        self.phrasing_vectors = phrasing_index.vectors()
        self.document_vectors = document_index.vectors()
        self.lexical = LexicalScorer([prepare(row.text) for row in self.rows])
        entry_position = {entry.id: i for i, entry in enumerate(self.entry_list)}
        self.row_entry = np.array([entry_position[row.entry_id] for row in self.rows], dtype=np.int64)
        order = np.argsort(self.row_entry, kind="stable")
        bounds = np.searchsorted(self.row_entry[order], np.arange(len(self.entry_list) + 1))
        self.entry_rows: list[IntArray] = [order[bounds[i] : bounds[i + 1]] for i in range(len(self.entry_list))]

    def _candidates(self, row_ids: IntArray, doc_ids: IntArray, probabilities: Vectors | None) -> list[int]:
        found = [int(self.row_entry[r]) for r in row_ids if r >= 0]
        found += [int(d) for d in doc_ids if d >= 0]
        if probabilities is not None:
            found += [int(c) for c in np.argsort(-probabilities, kind="stable")[:CANDIDATE_CLASSIFIER]]
        return list(dict.fromkeys(found))

    def probabilities(self, vectors: Vectors) -> Vectors | None:
        """The learned scorer's entry probabilities for each query vector (None without a share)."""
        if self.classifier is None or not self.weights.uses_classifier:
            return None
        return self.classifier.probabilities(vectors)

    def hits_for_vectors(
        self,
        queries: Sequence[str],
        vectors: Vectors,
        *,
        exclude_rows: Sequence[int | None] | None = None,
        on: date | None = None,
        limit: int = 10,
    ) -> list[list[Hit]]:
        """Entry hits (best first, at most ``limit``) for each query; ``exclude_rows[i]`` hides one
        phrasing row from query i (leave-one-out); ``on`` drops entries not valid on that day."""
        if len(queries) == 0:
            return []
        _, found_rows = self.phrasing_index.search(vectors, CANDIDATE_ROWS)
        _, found_docs = self.document_index.search(vectors, CANDIDATE_DOCUMENTS)
        probabilities = self.probabilities(vectors)
        results: list[list[Hit]] = []
        for i, query in enumerate(queries):
            excluded = exclude_rows[i] if exclude_rows else None
            entry_probabilities = probabilities[i] if probabilities is not None else None
            candidates = self._candidates(found_rows[i], found_docs[i], entry_probabilities)
            if on is not None:
                candidates = [c for c in candidates if self.entry_list[c].is_valid_on(on)]
            hits = self._score(query, vectors[i], candidates, excluded, entry_probabilities)
            results.append(hits[:limit])
        return results

    def _score(
        self,
        query: str,
        vector: Vectors,
        candidates: list[int],
        excluded: int | None,
        probabilities: Vectors | None,
    ) -> list[Hit]:
        """Score the candidate entries with matrix products over their rows."""
        if not candidates:
            return []
        weights = self.weights
        chosen = np.array(candidates, dtype=np.int64)
        row_groups = [self.entry_rows[c] for c in candidates]
        if excluded is not None:
            row_groups = [rows[rows != excluded] for rows in row_groups]
        keep = np.array([rows.size > 0 for rows in row_groups])
        if not keep.all():
            chosen = chosen[keep]
            row_groups = [rows for rows, kept in zip(row_groups, keep, strict=True) if kept]
        if chosen.size == 0:
            return []
        lengths = np.array([rows.size for rows in row_groups], dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        flat_rows = np.concatenate(row_groups)
        similarities = self.phrasing_vectors[flat_rows] @ vector
        best = np.maximum.reduceat(similarities, starts)
        mean = np.add.reduceat(similarities, starts) / lengths
        document = self.document_vectors[chosen] @ vector
        lexical = self._lexical(query, row_groups) if weights.lexical else np.zeros(chosen.size)
        blend = weights.document * document + weights.best * best + weights.mean * mean + weights.lexical * lexical
        scores = blend.astype(np.float64)
        if probabilities is not None:
            scores = weights.classifier * probabilities[chosen] + (1.0 - weights.classifier) * scores
        hits: list[Hit] = []
        for position, candidate in enumerate(chosen.tolist()):
            segment = similarities[starts[position] : starts[position] + lengths[position]]
            matched = int(row_groups[position][int(np.argmax(segment))])
            hits.append(Hit(self.entry_list[candidate], float(scores[position]), self.rows[matched].text))
        hits.sort(key=lambda hit: (-hit.score, hit.entry.id))
        return hits

    def _lexical(self, query: str, row_groups: Sequence[IntArray]) -> npt.NDArray[np.float64]:
        groups = [rows.tolist() for rows in row_groups]
        return np.array(self.lexical.best_per_group(self.prepare(query), groups), dtype=np.float64)

    def hits_for(self, queries: Sequence[str], *, on: date | None = None, limit: int = 10) -> list[list[Hit]]:
        """Entry hits for raw client questions."""
        vectors = encode_batched(self.encoder, queries, prepare=self.prepare)
        return self.hits_for_vectors(queries, vectors, on=on, limit=limit)
