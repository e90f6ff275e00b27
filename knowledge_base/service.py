"""FaqService: the knowledge base as the bot and the agent console use it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from knowledge_base.encoders import Encoder, make_encoder
from knowledge_base.engine import Engine
from knowledge_base.index import IndexMismatchError, LoadedIndex, read_index
from knowledge_base.models import Band, FaqEntry, Hit, Retrieval, ScoreBands
from knowledge_base.retriever import ScoringWeights, make_retrieval


class FaqService:
    """Retrieves FAQ entries for client questions and decides the band from calibrated score bands."""

    def __init__(self, loaded: LoadedIndex, encoder: Encoder, today: Callable[[], date] = date.today) -> None:
        if encoder.dim != int(loaded.meta.get("dim", -1)):
            raise IndexMismatchError(
                f"encoder '{encoder.name}' gives {encoder.dim}-d vectors; the index holds {loaded.meta.get('dim')}-d"
            )
        self._loaded = loaded
        self._encoder = encoder
        self._today = today
        self.bands = ScoreBands.from_dict(loaded.meta["bands"])
        self._engine = Engine(
            encoder,
            loaded.vector_index,
            loaded.rows,
            loaded.entries,
            loaded.document_index,
            weights=ScoringWeights.from_dict(loaded.meta.get("weights", {})),
            classifier=loaded.classifier,
        )
        self._entries = {entry.id: entry for entry in loaded.entries}
        self._blend_engine: Engine | None = None

    @classmethod
    def load(cls, directory: Path, encoder: Encoder | str | None = None) -> FaqService:
        """Load an index; the encoder named in its metadata is built unless one is given.

        A given encoder (or spec) must match the index's encoder name, else IndexMismatchError."""
        expected = encoder if isinstance(encoder, str) else (encoder.name if encoder is not None else None)
        loaded = read_index(Path(directory), expected_encoder=expected)
        built = (
            encoder if encoder is not None and not isinstance(encoder, str) else make_encoder(loaded.meta["encoder"])
        )
        return cls(loaded, built)

    @property
    def encoder(self) -> Encoder:
        """The encoder the index was built with (to embed other text)."""
        return self._encoder

    def retrieve(self, question: str, k: int = 3) -> Retrieval:
        """Best distinct entries for ``question`` and the band (answer / suggest / escalate)."""
        if not question.strip():
            return Retrieval(query=question, band=Band.ESCALATE)
        hits = self._engine.hits_for([question], on=self._today(), limit=max(k, 3))[0]
        return make_retrieval(question, hits, self.bands, k)

    def search(self, text: str, k: int = 5) -> list[Hit]:
        """Plain top-``k`` entries (agent assist); no band decision."""
        if not text.strip():
            return []
        return self._engine.hits_for([text], on=self._today(), limit=k)[0]

    def blend_only_hits(self, texts: Sequence[str], k: int = 10) -> list[list[Hit]]:
        """Hits of the same index scored with the cosine blend alone (no learned scorer), for comparisons."""
        if self._blend_engine is None:
            loaded = self._loaded
            self._blend_engine = Engine(
                self._encoder,
                loaded.vector_index,
                loaded.rows,
                loaded.entries,
                loaded.document_index,
                weights=replace(self._engine.weights, classifier=0.0),
            )
        return self._blend_engine.hits_for(list(texts), on=self._today(), limit=k)

    def entry(self, entry_id: str) -> FaqEntry | None:
        """The entry with ``entry_id`` if it exists and is valid today."""
        found = self._entries.get(entry_id)
        return found if found is not None and found.is_valid_on(self._today()) else None

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        """Every entry of the index, including those outside their validity window."""
        return self._loaded.entries

    def info(self) -> dict[str, Any]:
        """Entries, phrasings, encoder, corpus hash, bands, index kind, calibration figures, the learned
        scorer's description and the learned-phrasing counts."""
        meta = self._loaded.meta
        return {
            "entries": len(self._loaded.entries),
            "phrasings": len(self._loaded.rows),
            "encoder": meta.get("encoder"),
            "dim": meta.get("dim"),
            "corpus_hash": meta.get("corpus_hash"),
            "bands": self.bands.to_dict(),
            "index_kind": meta.get("index_kind"),
            "weights": meta.get("weights"),
            "calibration": meta.get("calibration"),
            "built_at": meta.get("built_at"),
            "scorer": meta.get("scorer"),
            "learned": meta.get("learned"),
        }


_shared: dict[Path, FaqService] = {}
_shared_lock = threading.Lock()


def shared_service(directory: Path) -> FaqService:
    """One FaqService per index directory per process, so the API and the in-process actions share one copy."""
    key = Path(directory).resolve()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = FaqService.load(key)
        return _shared[key]
