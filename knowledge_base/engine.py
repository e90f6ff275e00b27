"""The retrieval engine: canonicalise, encode, gather candidate entries, score them, rank them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import numpy as np

from knowledge_base.encoders.base import Encoder, Vectors
from knowledge_base.index import PhrasingRow, VectorIndex
from knowledge_base.lexical import LexicalScorer
from knowledge_base.models import FaqEntry, Hit
from knowledge_base.normalize import canonical
from knowledge_base.retriever import ScoringWeights

CANDIDATE_ROWS = 64
CANDIDATE_DOCUMENTS = 24
ENCODE_BATCH = 64


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
    """Scores entries for queries from a phrasing index and entry-document vectors."""

    def __init__(
        self,
        encoder: Encoder,
        phrasing_index: VectorIndex,
        rows: Sequence[PhrasingRow],
        entries: Sequence[FaqEntry],
        document_index: VectorIndex,
        *,
        weights: ScoringWeights | None = None,
        prepare: Callable[[str], str] = canonical,
    ) -> None:
        self.encoder = encoder
        self.phrasing_index = phrasing_index
        self.document_index = document_index
        self.rows = list(rows)
        self.entry_list = list(entries)
        self.entries = {entry.id: entry for entry in self.entry_list}
        self.weights = weights or ScoringWeights()
        self.prepare = prepare
        self.phrasing_vectors = phrasing_index.vectors()
        self.document_vectors = document_index.vectors()
        self.lexical = LexicalScorer([prepare(row.text) for row in self.rows])
        entry_position = {entry.id: i for i, entry in enumerate(self.entry_list)}
        self.row_entry = np.array([entry_position[row.entry_id] for row in self.rows], dtype=np.int64)
        self.entry_rows: list[np.ndarray] = [np.flatnonzero(self.row_entry == i) for i in range(len(self.entry_list))]

    def _candidates(self, row_ids: np.ndarray, doc_ids: np.ndarray) -> list[int]:
        found = [int(self.row_entry[r]) for r in row_ids if r >= 0]
        found += [int(d) for d in doc_ids if d >= 0]
        return list(dict.fromkeys(found))

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
        results: list[list[Hit]] = []
        for i, query in enumerate(queries):
            excluded = exclude_rows[i] if exclude_rows else None
            candidates = self._candidates(found_rows[i], found_docs[i])
            if on is not None:
                candidates = [c for c in candidates if self.entry_list[c].is_valid_on(on)]
            results.append(self._score(query, vectors[i], candidates, excluded)[:limit])
        return results

    def _score(self, query: str, vector: np.ndarray, candidates: list[int], excluded: int | None) -> list[Hit]:
        weights = self.weights
        document_scores = self.document_vectors[candidates] @ vector if candidates else np.zeros(0)
        prepared = self.prepare(query) if weights.lexical else ""
        hits: list[Hit] = []
        for position, candidate in enumerate(candidates):
            rows = self.entry_rows[candidate]
            if excluded is not None:
                rows = rows[rows != excluded]
            if rows.size == 0:
                continue
            similarities = self.phrasing_vectors[rows] @ vector
            best = int(np.argmax(similarities))
            lexical = max(self.lexical.score(prepared, rows.tolist())) if weights.lexical else 0.0
            score = weights.combine(
                float(document_scores[position]), float(similarities[best]), float(similarities.mean()), lexical
            )
            hits.append(Hit(self.entry_list[candidate], score, self.rows[int(rows[best])].text))
        hits.sort(key=lambda hit: (-hit.score, hit.entry.id))
        return hits

    def hits_for(self, queries: Sequence[str], *, on: date | None = None, limit: int = 10) -> list[list[Hit]]:
        """Entry hits for raw client questions."""
        vectors = encode_batched(self.encoder, queries, prepare=self.prepare)
        return self.hits_for_vectors(queries, vectors, on=on, limit=limit)
