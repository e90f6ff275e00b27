"""A cache of query vectors in front of an encoder: clients ask the same questions again and again, and
encoding is most of what a retrieval costs.

Only the query side is cached (`encode`); passages (`encode_passages`, used when an index is built) pass
straight through. The least recently used vectors are dropped beyond `size`. Thread-safe: retrievals run
on a thread pool.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from knowledge_base.encoders.base import Encoder, Vectors


class CachedEncoder:
    """`encode` with the vectors of recent texts remembered; everything else is the wrapped encoder's."""

    def __init__(self, inner: Encoder, size: int) -> None:
        if size < 1:
            raise ValueError("a query cache holds at least one vector")
        self._inner = inner
        self._size = size
        self._vectors: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        """The wrapped encoder's spec."""
        return self._inner.name

    @property
    def dim(self) -> int:
        """The wrapped encoder's dimension."""
        return self._inner.dim

    @property
    def inner(self) -> Encoder:
        """The encoder behind the cache."""
        return self._inner

    def encode(self, texts: Sequence[str]) -> Vectors:
        """The vectors of `texts`, encoding (in one batch) only those not seen recently."""
        found: dict[str, Vectors] = {}
        with self._lock:
            for text in texts:
                vector = self._vectors.get(text)
                if vector is not None:
                    self._vectors.move_to_end(text)
                    found[text] = vector
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            fresh = self._inner.encode(missing)
            with self._lock:
                for text, vector in zip(missing, fresh, strict=True):
                    stored = np.array(vector, dtype=np.float32)
                    stored.setflags(write=False)
                    found[text] = self._vectors[text] = stored
                while len(self._vectors) > self._size:
                    self._vectors.popitem(last=False)
        with self._lock:
            self.hits += len(texts) - len(missing)
            self.misses += len(missing)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.stack([found[text] for text in texts]), dtype=np.float32)

    def __getattr__(self, name: str) -> Any:
        """`encode_passages` and any other extra of the wrapped encoder."""
        return getattr(self._inner, name)


def with_query_cache(encoder: Encoder, size: int) -> Encoder:
    """The encoder behind a query cache of `size` vectors (0: the encoder itself)."""
    if size <= 0 or isinstance(encoder, CachedEncoder):
        return encoder
    return CachedEncoder(encoder, size)
