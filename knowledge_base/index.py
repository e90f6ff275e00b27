"""FAISS vector index over phrasings, saved with its id map, entries and metadata."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from knowledge_base.corpus import corpus_hash
from knowledge_base.encoders.base import Vectors
from knowledge_base.models import FaqEntry
from knowledge_base.scorer import SCORER_FILE, SCORER_VERSION, EntryClassifier, ScorerFormatError

INDEX_FILE = "index.faiss"
DOCUMENTS_FILE = "documents.faiss"
ID_MAP_FILE = "id_map.json"
ENTRIES_FILE = "entries.json"
META_FILE = "meta.json"
INDEX_FILES = (INDEX_FILE, DOCUMENTS_FILE, ID_MAP_FILE, ENTRIES_FILE, META_FILE, SCORER_FILE)
# 2: id-map rows carry their provenance and the learned scorer is saved beside the vectors.
FORMAT_VERSION = 2

FLAT = "flat"
HNSW = "hnsw"
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
RECALL_K = 10
RECALL_SAMPLE = 1000


class KnowledgeIndexError(Exception):
    """Base class for index problems."""


class IndexLoadError(KnowledgeIndexError):
    """The index directory is missing, incomplete or corrupt."""


class IndexMismatchError(KnowledgeIndexError):
    """The index does not match what the caller requires (encoder, corpus, dimension)."""


@dataclass(frozen=True)
class PhrasingRow:
    """One indexed text: the entry it belongs to, the phrasing itself and where it came from
    (empty for corpus phrasings; ``file:line`` for phrasings learned from feedback)."""

    entry_id: str
    text: str
    source: str = ""

    @property
    def learned(self) -> bool:
        return bool(self.source)

    def to_json(self) -> list[str]:
        return [self.entry_id, self.text, self.source] if self.source else [self.entry_id, self.text]


@dataclass
class VectorIndex:
    """A FAISS inner-product index whose row i is ``rows[i]``."""

    faiss_index: Any
    kind: str

    @property
    def size(self) -> int:
        return int(self.faiss_index.ntotal)

    def vectors(self) -> Vectors:
        """All stored vectors, row-aligned (reconstructed from the index)."""
        if self.size == 0:
            return np.zeros((0, int(self.faiss_index.d)), dtype=np.float32)
        return np.ascontiguousarray(self.faiss_index.reconstruct_n(0, self.size), dtype=np.float32)

    def search(self, vectors: Vectors, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` (scores, row ids) per query vector; missing slots have row -1."""
        k = max(1, min(k, self.size))
        scores, rows = self.faiss_index.search(np.ascontiguousarray(vectors, dtype=np.float32), k)
        return scores, rows


def build_flat_index(vectors: Vectors) -> VectorIndex:
    """Exact inner-product index."""
    flat = faiss.IndexFlatIP(int(vectors.shape[1]))
    flat.add(vectors)
    return VectorIndex(flat, FLAT)


def build_vector_index(vectors: Vectors, hnsw_threshold: int) -> VectorIndex:
    """Exact flat index, or HNSW once there are at least ``hnsw_threshold`` vectors."""
    dim = int(vectors.shape[1])
    if vectors.shape[0] >= hnsw_threshold:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        index.add(vectors)
        return VectorIndex(index, HNSW)
    return build_flat_index(vectors)


def measure_recall(
    approximate: VectorIndex, vectors: Vectors, queries: Vectors | None = None, k: int = RECALL_K
) -> float:
    """recall@k of ``approximate`` against exact search over ``vectors`` (sampled queries)."""
    if queries is None:
        rng = np.random.default_rng(0)
        sample = rng.choice(vectors.shape[0], size=min(RECALL_SAMPLE, vectors.shape[0]), replace=False)
        queries = vectors[np.sort(sample)]
    k = min(k, vectors.shape[0])
    exact = faiss.IndexFlatIP(int(vectors.shape[1]))
    exact.add(vectors)
    _, truth = exact.search(queries, k)
    _, found = approximate.search(queries, k)
    overlap = sum(len(set(t.tolist()) & set(f.tolist())) for t, f in zip(truth, found, strict=True))
    return overlap / float(truth.size)


def write_index(
    directory: Path,
    vector_index: VectorIndex,
    document_index: VectorIndex,
    rows: list[PhrasingRow],
    entries: tuple[FaqEntry, ...],
    *,
    meta: dict[str, Any],
    classifier: EntryClassifier | None = None,
) -> None:
    """Write the index files into ``directory`` (which must exist)."""
    faiss.write_index(vector_index.faiss_index, str(directory / INDEX_FILE))
    faiss.write_index(document_index.faiss_index, str(directory / DOCUMENTS_FILE))
    if classifier is not None:
        classifier.save(directory / SCORER_FILE)
    id_map = [row.to_json() for row in rows]
    (directory / ID_MAP_FILE).write_text(json.dumps(id_map, ensure_ascii=False), encoding="utf-8")
    entry_data = [entry.to_dict() for entry in entries]
    (directory / ENTRIES_FILE).write_text(json.dumps(entry_data, ensure_ascii=False, indent=1), encoding="utf-8")
    full_meta = {"format_version": FORMAT_VERSION, **meta, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (directory / META_FILE).write_text(json.dumps(full_meta, ensure_ascii=False, indent=2), encoding="utf-8")


def read_meta(directory: Path) -> dict[str, Any]:
    """The metadata of an index directory; raises :class:`IndexLoadError` when absent or corrupt."""
    path = directory / META_FILE
    if not directory.is_dir():
        raise IndexLoadError(f"no index at '{directory}' (build one with: python -m knowledge_base build)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexLoadError(f"index at '{directory}' is incomplete: {META_FILE} is missing") from exc
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"index metadata '{path}' is corrupt: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format_version") != FORMAT_VERSION:
        raise IndexLoadError(f"index metadata '{path}' has an unsupported format (rebuild the index)")
    return meta


@dataclass
class LoadedIndex:
    """Everything an index directory holds, checked for consistency."""

    vector_index: VectorIndex
    document_index: VectorIndex
    rows: list[PhrasingRow]
    entries: tuple[FaqEntry, ...]
    meta: dict[str, Any]
    classifier: EntryClassifier | None = None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexLoadError(f"index at '{path.parent}' is incomplete: {path.name} is missing") from exc
    except (OSError, ValueError) as exc:
        raise IndexLoadError(f"index file '{path}' is corrupt: {exc}") from exc


def read_index(directory: Path, expected_encoder: str | None = None) -> LoadedIndex:
    """Load and check an index directory.

    Raises :class:`IndexLoadError` for missing/corrupt files and :class:`IndexMismatchError` when the
    encoder differs from ``expected_encoder`` or the saved corpus does not match the recorded hash."""
    meta = read_meta(directory)
    if expected_encoder is not None and meta.get("encoder") != expected_encoder:
        raise IndexMismatchError(
            f"index at '{directory}' was built with encoder '{meta.get('encoder')}', "
            f"not '{expected_encoder}': rebuild it with --encoder {expected_encoder}"
        )
    try:
        entries = tuple(FaqEntry.from_dict(item) for item in _read_json(directory / ENTRIES_FILE))
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexLoadError(f"index file '{directory / ENTRIES_FILE}' is corrupt: {exc}") from exc
    saved_hash = corpus_hash(entries)
    if saved_hash != meta.get("corpus_hash"):
        raise IndexMismatchError(
            f"index at '{directory}': saved corpus hash {saved_hash[:12]} differs from the recorded "
            f"{str(meta.get('corpus_hash'))[:12]}: the files were changed after the build; rebuild the index"
        )
    raw_rows = _read_json(directory / ID_MAP_FILE)
    try:
        rows = [PhrasingRow(*(str(item) for item in row)) for row in raw_rows]
    except (TypeError, ValueError) as exc:
        raise IndexLoadError(f"index file '{directory / ID_MAP_FILE}' is corrupt: {exc}") from exc
    known = {entry.id for entry in entries}
    if any(row.entry_id not in known for row in rows):
        raise IndexMismatchError(f"index at '{directory}': the id map names entries that are not in the corpus")
    faiss_index = _read_faiss(directory / INDEX_FILE)
    documents = _read_faiss(directory / DOCUMENTS_FILE)
    if int(faiss_index.ntotal) != len(rows):
        raise IndexMismatchError(
            f"index at '{directory}': {faiss_index.ntotal} vectors but {len(rows)} id-map rows; rebuild the index"
        )
    if int(documents.ntotal) != len(entries):
        raise IndexMismatchError(
            f"index at '{directory}': {documents.ntotal} entry documents but {len(entries)} entries; rebuild it"
        )
    for index in (faiss_index, documents):
        if int(index.d) != int(meta.get("dim", -1)):
            raise IndexMismatchError(
                f"index at '{directory}': vector dimension {index.d} != recorded {meta.get('dim')}"
            )
    kind = str(meta.get("index_kind", FLAT))
    if kind == HNSW:
        faiss_index.hnsw.efSearch = int(meta.get("hnsw_ef_search", HNSW_EF_SEARCH))
    classifier = read_classifier(directory, meta, entries)
    return LoadedIndex(VectorIndex(faiss_index, kind), VectorIndex(documents, FLAT), rows, entries, meta, classifier)


def read_classifier(directory: Path, meta: dict[str, Any], entries: tuple[FaqEntry, ...]) -> EntryClassifier | None:
    """The learned scorer recorded in ``meta`` (None when the index scores without one), checked against
    its recorded version, fingerprint, entries and dimension."""
    recorded = meta.get("scorer")
    uses_scorer = float(meta.get("weights", {}).get("classifier", 0.0)) > 0.0
    if not isinstance(recorded, dict):
        if uses_scorer:
            raise IndexMismatchError(
                f"index at '{directory}' scores with a learned scorer but records none; rebuild it"
            )
        return None
    path = directory / str(recorded.get("file", SCORER_FILE))
    if recorded.get("version") != SCORER_VERSION:
        raise IndexMismatchError(
            f"index at '{directory}' has a learned scorer of version {recorded.get('version')}, "
            f"this code reads version {SCORER_VERSION}: rebuild the index"
        )
    if not path.is_file():
        raise IndexLoadError(f"index at '{directory}' is incomplete: {path.name} (the learned scorer) is missing")
    try:
        classifier = EntryClassifier.load(path)
    except ScorerFormatError as exc:
        raise IndexLoadError(f"index file '{path}' is corrupt: {exc}") from exc
    if classifier.fingerprint() != recorded.get("sha256"):
        raise IndexMismatchError(
            f"index at '{directory}': the learned scorer {path.name} does not match the one recorded at build "
            "time (it was replaced or edited); rebuild the index"
        )
    if classifier.entry_ids != tuple(entry.id for entry in entries) or classifier.dim != int(meta.get("dim", -1)):
        raise IndexMismatchError(
            f"index at '{directory}': the learned scorer was trained for other entries; rebuild it"
        )
    return classifier


def _read_faiss(path: Path) -> Any:
    if not path.is_file():
        raise IndexLoadError(f"index at '{path.parent}' is incomplete: {path.name} is missing")
    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexLoadError(f"index file '{path}' is corrupt: {exc}") from exc
