"""FaqService: the knowledge base as the bot and the agent console use it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from knowledge_base.encoders import Encoder, make_encoder
from knowledge_base.encoders.cache import with_query_cache
from knowledge_base.engine import Engine
from knowledge_base.index import IndexMismatchError, LoadedIndex, read_index
from knowledge_base.models import Band, FaqEntry, Hit, Retrieval, ScoreBands
from knowledge_base.recent import RecentRetrievals
from knowledge_base.retriever import ScoringWeights, make_retrieval
from knowledge_base.settings import KnowledgeBaseSettings


@dataclass(frozen=True)
class _Snapshot:
    """One loaded index with its engine: everything a query reads, replaced as one reference."""

    loaded: LoadedIndex
    engine: Engine
    bands: ScoreBands
    entries: dict[str, FaqEntry]
    version: int | None


def _snapshot(loaded: LoadedIndex, encoder: Encoder, version: int | None) -> _Snapshot:
    if encoder.dim != int(loaded.meta.get("dim", -1)):
        raise IndexMismatchError(
            f"encoder '{encoder.name}' gives {encoder.dim}-d vectors; the index holds {loaded.meta.get('dim')}-d"
        )
    engine = Engine(
        encoder,
        loaded.vector_index,
        loaded.rows,
        loaded.entries,
        loaded.document_index,
        weights=ScoringWeights.from_dict(loaded.meta.get("weights", {})),
        classifier=loaded.classifier,
    )
    bands = ScoreBands.from_dict(loaded.meta["bands"])
    return _Snapshot(loaded, engine, bands, {entry.id: entry for entry in loaded.entries}, version)


class FaqService:
    """Retrieves FAQ entries for client questions and decides the band from calibrated score bands.

    The index can be replaced while the service runs (:meth:`adopt`): every query reads the current
    snapshot once, so it is served wholly by the old index or wholly by the new one."""

    def __init__(
        self,
        loaded: LoadedIndex,
        encoder: Encoder,
        today: Callable[[], date] = date.today,
        version: int | None = None,
        recent: int = 0,
    ) -> None:
        self._encoder = encoder
        self._today = today
        self._state = _snapshot(loaded, encoder, version)
        self._blend: tuple[_Snapshot, Engine] | None = None
        self._recent = RecentRetrievals(recent) if recent > 0 else None

    def adopt(self, other: FaqService) -> None:
        """Serve ``other``'s fully loaded index from now on (one reference assignment; in-flight queries
        finish on the old one). The encoder must be the same."""
        if other.encoder.name != self._encoder.name:
            raise IndexMismatchError(f"cannot swap to an index of encoder '{other.encoder.name}'")
        self._state = other._state
        if self._recent is not None:
            self._recent.forget()

    @property
    def bands(self) -> ScoreBands:
        """The calibrated score bands of the current index."""
        return self._state.bands

    @property
    def version(self) -> int | None:
        """The learned index version being served (None: the index built from the corpus files)."""
        return self._state.version

    @classmethod
    def load(cls, directory: Path, encoder: Encoder | str | None = None, query_cache: int = 0) -> FaqService:
        """Load an index; the encoder named in its metadata is built unless one is given.

        A given encoder (or spec) must match the index's encoder name, else IndexMismatchError. With
        `query_cache`, the vectors (knowledge_base.encoders.cache) and the retrievals (knowledge_base.recent)
        of that many recent questions are kept."""
        expected = encoder if isinstance(encoder, str) else (encoder.name if encoder is not None else None)
        loaded = read_index(Path(directory), expected_encoder=expected)
        built = (
            encoder if encoder is not None and not isinstance(encoder, str) else make_encoder(loaded.meta["encoder"])
        )
        return cls(loaded, with_query_cache(built, query_cache), recent=query_cache)

    @property
    def encoder(self) -> Encoder:
        """The encoder the index was built with (to embed other text)."""
        return self._encoder

    def retrieve(self, question: str, k: int = 3) -> Retrieval:
        """Best distinct entries for ``question`` and the band (answer / suggest / escalate)."""
        if not question.strip():
            return Retrieval(query=question, band=Band.ESCALATE)
        state, today = self._state, self._today()
        key = (today, question, k)
        if self._recent is not None and (remembered := self._recent.get(key, state)) is not None:
            return remembered
        hits = state.engine.hits_for([question], on=today, limit=max(k, 3))[0]
        retrieval = make_retrieval(question, hits, state.bands, k)
        if self._recent is not None:
            self._recent.put(key, state, retrieval)
        return retrieval

    def search(self, text: str, k: int = 5) -> list[Hit]:
        """Plain top-``k`` entries (agent assist); no band decision."""
        if not text.strip():
            return []
        return self._state.engine.hits_for([text], on=self._today(), limit=k)[0]

    def blend_only_hits(self, texts: Sequence[str], k: int = 10) -> list[list[Hit]]:
        """Hits of the same index scored with the cosine blend alone (no learned scorer), for comparisons."""
        state, blend = self._state, self._blend
        if blend is None or blend[0] is not state:
            loaded = state.loaded
            engine = Engine(
                self._encoder,
                loaded.vector_index,
                loaded.rows,
                loaded.entries,
                loaded.document_index,
                weights=replace(state.engine.weights, classifier=0.0),
            )
            blend = self._blend = (state, engine)
        return blend[1].hits_for(list(texts), on=self._today(), limit=k)

    def entry(self, entry_id: str) -> FaqEntry | None:
        """The entry with ``entry_id`` if it exists and is valid today."""
        found = self._state.entries.get(entry_id)
        return found if found is not None and found.is_valid_on(self._today()) else None

    @property
    def entries(self) -> tuple[FaqEntry, ...]:
        """Every entry of the index, including those outside their validity window."""
        return self._state.loaded.entries

    def info(self) -> dict[str, Any]:
        """Entries, phrasings, encoder, corpus hash, bands, index kind, calibration figures, the learned
        scorer's description and the learned-phrasing counts, and the learned version being served."""
        state = self._state
        meta = state.loaded.meta
        return {
            "version": state.version,
            "entries": len(state.loaded.entries),
            "phrasings": len(state.loaded.rows),
            "encoder": meta.get("encoder"),
            "dim": meta.get("dim"),
            "corpus_hash": meta.get("corpus_hash"),
            "bands": state.bands.to_dict(),
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
            _shared[key] = FaqService.load(key, query_cache=KnowledgeBaseSettings().query_cache_size)
        return _shared[key]
