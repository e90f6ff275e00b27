"""The encoder protocol and helpers shared by the backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


class EncoderError(Exception):
    """An encoder cannot be built or used (unknown spec, missing model files)."""


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (n, dim)."""

    @property
    def name(self) -> str:
        """The spec this encoder was built from; stored with an index."""
        ...

    @property
    def dim(self) -> int:
        """Vector dimension."""
        ...

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode ``texts``; an empty input gives an array of shape (0, dim)."""
        ...


def normalise_rows(vectors: npt.ArrayLike) -> Vectors:
    """Cast to a C-contiguous float32 matrix with unit-length rows (zero rows stay zero)."""
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(matrix / norms, dtype=np.float32)
