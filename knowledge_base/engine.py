"""The retrieval engine: canonicalise, encode, search phrasings, fuse lexical scores, group by entry."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from knowledge_base.encoders.base import Encoder, Vectors
from knowledge_base.index import PhrasingRow, VectorIndex
from knowledge_base.lexical import LexicalScorer
from knowledge_base.models import FaqEntry, Hit
from knowledge_base.normalize import canonical
from knowledge_base.retriever import ScoredPhrasing, best_per_entry, fuse

DEFAULT_LEXICAL_WEIGHT = 0.0
CANDIDATE_ROWS = 64
ENCODE_BATCH = 64


def encode_batched(
    encoder: Encoder,
    texts: Sequence[str],
    progress: Callable[[int], None] | None = None,
    prepare: Callable[[str], str] = canonical,
) -> Vectors:
    """Encode prepared (by default canonical) forms of ``texts`` in batches, reporting progress per batch."""
    import numpy as np

    chunks: list[Vectors] = []
    for start in range(0, len(texts), ENCODE_BATCH):
        batch = [prepare(text) for text in texts[start : start + ENCODE_BATCH]]
        chunks.append(encoder.encode(batch))
        if progress is not None:
            progress(len(batch))
    if not chunks:
        return np.zeros((0, encoder.dim), dtype=np.float32)
    return np.ascontiguousarray(np.vstack(chunks), dtype=np.float32)


class Engine:
    """Scores entries for queries over one vector index and its id map."""

    def __init__(
        self,
        encoder: Encoder,
        vector_index: VectorIndex,
        rows: Sequence[PhrasingRow],
        entries: Sequence[FaqEntry],
        lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
        prepare: Callable[[str], str] = canonical,
    ) -> None:
        self.encoder = encoder
        self.vector_index = vector_index
        self.rows = list(rows)
        self.entries = {entry.id: entry for entry in entries}
        self.lexical_weight = lexical_weight
        self.prepare = prepare
        self.lexical = LexicalScorer([prepare(row.text) for row in self.rows])

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
        candidates = min(self.vector_index.size, CANDIDATE_ROWS + (1 if exclude_rows else 0))
        scores, found = self.vector_index.search(vectors, candidates)
        results: list[list[Hit]] = []
        for i, query in enumerate(queries):
            excluded = exclude_rows[i] if exclude_rows else None
            row_ids = [int(r) for r in found[i] if r >= 0 and int(r) != excluded]
            dense = {int(r): float(s) for r, s in zip(found[i], scores[i], strict=True) if r >= 0}
            lexical = (
                self.lexical.score(self.prepare(query), row_ids) if self.lexical_weight else [0.0] * len(row_ids)
            )
            scored = []
            for row, lex in zip(row_ids, lexical, strict=True):
                entry = self.entries[self.rows[row].entry_id]
                if on is not None and not entry.is_valid_on(on):
                    continue
                score = fuse(dense[row], lex, self.lexical_weight)
                scored.append(ScoredPhrasing(entry, self.rows[row].text, score))
            results.append(best_per_entry(scored)[:limit])
        return results

    def hits_for(self, queries: Sequence[str], *, on: date | None = None, limit: int = 10) -> list[list[Hit]]:
        """Entry hits for raw client questions."""
        vectors = encode_batched(self.encoder, queries, prepare=self.prepare)
        return self.hits_for_vectors(queries, vectors, on=on, limit=limit)
