"""The baselines the engine is compared with: the bare encoder, jieba BM25 and character TF-IDF.

Each ranks the corpus's phrasing rows for a query and answers with the entry of the best row (its top-1)
and that row's score. Texts are canonicalised as the engine does before encoding or tokenising."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from knowledge_base.compare_metrics import TopHit
from knowledge_base.encoders.base import Encoder, Vectors
from knowledge_base.engine import encode_batched
from knowledge_base.index import PhrasingRow
from knowledge_base.normalize import canonical

__all__ = ["TFIDF_NGRAMS", "Bm25Method", "EncoderMethod", "Method", "TfidfMethod", "TopHit", "interleaved_latencies"]

TFIDF_NGRAMS = (1, 2)


class Method(Protocol):
    """A built retrieval method: the best entry and its score for one query."""

    def top(self, query: str) -> TopHit:
        """(entry id or None, score) of the best entry for ``query``."""
        ...


def best_row(rows: Sequence[PhrasingRow], scores: Sequence[float] | np.ndarray) -> TopHit:
    """The entry of the highest-scoring row (the first on ties) and its score; (None, 0.0) for no rows."""
    if len(rows) == 0:
        return None, 0.0
    values = np.asarray(scores, dtype=np.float64)
    position = int(np.argmax(values))
    return rows[position].entry_id, float(values[position])


class EncoderMethod:
    """The bare encoder: cosine of the query vector against every phrasing vector, no scoring on top."""

    def __init__(self, encoder: Encoder, rows: Sequence[PhrasingRow], vectors: Vectors) -> None:
        self.encoder = encoder
        self.rows = list(rows)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)

    @classmethod
    def build(cls, encoder: Encoder, rows: Sequence[PhrasingRow]) -> EncoderMethod:
        """Encode every phrasing (the method's whole build)."""
        return cls(encoder, rows, encode_batched(encoder, [row.text for row in rows]))

    def top_of_vector(self, vector: Vectors) -> TopHit:
        """The best entry for an already encoded (canonical) query."""
        return best_row(self.rows, self.vectors @ vector)

    def top(self, query: str) -> TopHit:
        return self.top_of_vector(encode_batched(self.encoder, [query])[0])


def jieba_tokens(text: str) -> list[str]:
    """jieba's words of the canonical text, blanks dropped."""
    import jieba

    return [token for token in jieba.lcut(canonical(text)) if token.strip()]


class Bm25Method:
    """Okapi BM25 (rank_bm25's defaults) over jieba-tokenised phrasings."""

    def __init__(self, rows: Sequence[PhrasingRow]) -> None:
        import jieba
        from rank_bm25 import BM25Okapi

        jieba.setLogLevel(logging.WARNING)
        self.rows = list(rows)
        self.bm25 = BM25Okapi([jieba_tokens(row.text) or [""] for row in self.rows])

    def top(self, query: str) -> TopHit:
        tokens = jieba_tokens(query)
        if not tokens:
            return None, 0.0
        return best_row(self.rows, self.bm25.get_scores(tokens))


class TfidfMethod:
    """Cosine of character n-gram TF-IDF vectors (scikit-learn, L2-normalised rows)."""

    def __init__(self, rows: Sequence[PhrasingRow], ngrams: tuple[int, int] = TFIDF_NGRAMS) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.rows = list(rows)
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=ngrams)
        self.matrix = self.vectorizer.fit_transform([canonical(row.text) for row in self.rows])

    def top(self, query: str) -> TopHit:
        vector = self.vectorizer.transform([canonical(query)])
        scores = (self.matrix @ vector.T).toarray().ravel()
        return best_row(self.rows, scores)


@dataclass(frozen=True)
class Timed:
    """A built method and how long the build took."""

    method: Method
    build_seconds: float


def timed_build(factory: Callable[[], Method]) -> Timed:
    """Build a method, timing it."""
    started = time.perf_counter()
    method = factory()
    return Timed(method, time.perf_counter() - started)


def interleaved_latencies(methods: Mapping[str, Method], queries: Sequence[str]) -> dict[str, list[float]]:
    """Milliseconds of each single query per method, the methods taking turns query by query (the order
    rotating) so that a busy moment of the machine costs them alike; one untimed warm-up query each."""
    names = list(methods)
    found: dict[str, list[float]] = {name: [] for name in names}
    if queries:
        for name in names:
            methods[name].top(queries[0])
    for i, query in enumerate(queries):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            started = time.perf_counter()
            methods[name].top(query)
            found[name].append((time.perf_counter() - started) * 1000.0)
    return found
