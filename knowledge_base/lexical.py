"""Lexical similarity: IDF-weighted character-bigram cosine over canonical phrasings (pure)."""

from __future__ import annotations

import math
import unicodedata
from collections import Counter
from collections.abc import Sequence


def _content_chars(text: str) -> str:
    """Drop punctuation, symbols and spaces; keep letters and digits."""
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def char_bigrams(text: str) -> frozenset[str]:
    """Distinct character bigrams of the letters and digits in ``text`` (unigram for one character)."""
    chars = _content_chars(text)
    if len(chars) < 2:
        return frozenset({chars}) if chars else frozenset()
    return frozenset(chars[i : i + 2] for i in range(len(chars) - 1))


class LexicalScorer:
    """Cosine similarity of IDF-weighted bigram sets between a query and each indexed phrasing."""

    def __init__(self, phrasings: Sequence[str]) -> None:
        self._grams = [char_bigrams(text) for text in phrasings]
        frequency: Counter[str] = Counter()
        for grams in self._grams:
            frequency.update(grams)
        count = max(len(self._grams), 1)
        self._idf = {gram: math.log(1.0 + count / df) for gram, df in frequency.items()}
        self._unseen_idf = math.log(1.0 + count)
        self._norms = [self._norm(grams) for grams in self._grams]

    def _weight(self, gram: str) -> float:
        return self._idf.get(gram, self._unseen_idf)

    def _norm(self, grams: frozenset[str]) -> float:
        return math.sqrt(sum(self._weight(gram) ** 2 for gram in grams))

    def score(self, query: str, rows: Sequence[int]) -> list[float]:
        """Similarity in [0, 1] between ``query`` (canonical text) and each phrasing row."""
        grams = char_bigrams(query)
        return self._scores(grams, self._norm(grams), rows)

    def best_per_group(self, query: str, groups: Sequence[Sequence[int]]) -> list[float]:
        """The best similarity of ``query`` within each group of rows (the query's bigrams computed once)."""
        grams = char_bigrams(query)
        query_norm = self._norm(grams)
        return [max(self._scores(grams, query_norm, rows), default=0.0) for rows in groups]

    def _scores(self, grams: frozenset[str], query_norm: float, rows: Sequence[int]) -> list[float]:
        scores: list[float] = []
        for row in rows:
            denominator = query_norm * self._norms[row]
            if denominator == 0.0:
                scores.append(0.0)
                continue
            shared = grams & self._grams[row]
            scores.append(sum(self._weight(gram) ** 2 for gram in shared) / denominator)
        return scores
