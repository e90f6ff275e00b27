"""Section 4 of the report: retrieval quality and cost beside three baselines, and flat against approximate
search on synthetic knowledge bases (from `python -m knowledge_base.compare --json`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from handoff_api.bench.retrieval import RetrievalResults
from handoff_api.bench.stats import ratio, spread
from handoff_api.bench.tables import duration, number, ratio_cell, table

LABELS = {"engine": "engine", "encoder": "bare encoder", "bm25": "jieba BM25", "tfidf": "char TF-IDF"}
SHORT = {"encoder": "encoder", "bm25": "BM25", "tfidf": "TF-IDF"}
BASELINES = ("encoder", "bm25", "tfidf")
SCALE_FIGURES = (
    ("latency_ms_p50", "p50 ms", 1.0),
    ("latency_ms_p95", "p95 ms", 1.0),
    ("recall", "recall@{k} against flat", 1.0),
    ("memory_mib", "index size, MiB", 1.0),
    ("build_seconds", "build ms", 1000.0),
)


def value(raw: Any) -> float:
    """A figure from the document as a float (NaN when missing or not a number)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return math.nan
    return float(raw)


def percent(raw: Any) -> str:
    """A share as `96.2%` ("–" when missing)."""
    share = value(raw)
    return f"{number(share * 100, 1)}%" if math.isfinite(share) else "–"


def plain(raw: Any) -> str:
    """A figure with the report's usual precision."""
    return number(value(raw))


def ratio_text(subject: Any, baseline: Any) -> str:
    """subject / baseline as `1.04×` ("–" when either is missing or the baseline is zero)."""
    return ratio_cell(spread([ratio(value(subject), value(baseline))]))


def method_rows(methods: Mapping[str, Mapping[str, Any]], rate: str) -> list[list[str]]:
    """One row per figure: the engine, then each baseline beside engine / baseline."""
    figures: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
        ("top1", "top-1 accuracy (in-scope queries)", percent),
        ("answered_precision", f"answered precision at {rate} out-of-scope rejected", percent),
        ("answered_rate", "in-scope queries answered at that threshold", percent),
        ("build_seconds", "index build, s", plain),
        ("latency_ms_p50", "query latency p50, ms", plain),
        ("latency_ms_p95", "query latency p95, ms", plain),
    )
    engine = methods.get("engine", {})
    rows = []
    for key, label, show in figures:
        row = [label, show(engine.get(key))]
        for name in BASELINES:
            baseline = methods.get(name, {}).get(key)
            row += [show(baseline), ratio_text(engine.get(key), baseline)]
        rows.append(row)
    return rows


def methods_table(document: Mapping[str, Any]) -> str:
    """The engine against the bare encoder, jieba BM25 and character TF-IDF."""
    header = ["figure", LABELS["engine"]]
    for name in BASELINES:
        header += [LABELS[name], f"engine / {SHORT[name]}"]
    rate = percent(document.get("rejection_rate"))
    return table(header, method_rows(document.get("methods", {}), rate))


def scale_rows(scale: Mapping[str, Any]) -> list[list[str]]:
    """Per size and figure: approximate, flat, approximate / flat."""
    k = scale.get("k", 10)
    rows = []
    sizes = scale.get("sizes", {})
    for size in sorted(sizes, key=int):
        flat, approximate = sizes[size].get("flat", {}), sizes[size].get("approximate", {})
        for key, label, scale_by in SCALE_FIGURES:
            name = f"recall_at_{k}" if key == "recall" else key
            mine, base = value(approximate.get(name)) * scale_by, value(flat.get(name)) * scale_by
            rows.append([f"{int(size):,}", label.format(k=k), plain(mine), plain(base), ratio_text(mine, base)])
    return rows


def ivf_settings(scale: Mapping[str, Any]) -> str:
    """`1,000: nlist 25, nprobe 8; …` for the sizes measured."""
    sizes = scale.get("sizes", {})
    parts = []
    for size in sorted(sizes, key=int):
        approximate = sizes[size].get("approximate", {})
        parts.append(f"{int(size):,}: nlist {approximate.get('nlist', '?')}, nprobe {approximate.get('nprobe', '?')}")
    return "; ".join(parts)


def rejected_in_fact(methods: Mapping[str, Mapping[str, Any]]) -> str:
    """The out-of-scope share each method's threshold actually rejected (ties may reject more)."""
    return ", ".join(
        f"{LABELS.get(name, name)} {percent(m.get('out_of_scope_rejected'))}" for name, m in methods.items()
    )


def retrieval_section(results: RetrievalResults) -> str:
    """Section 4: both tables with how they were measured."""
    document = results.document
    methods = document.get("methods", {})
    scale = document.get("scale", {})
    notes = document.get("notes", {})
    rate = percent(document.get("rejection_rate"))
    quick = " A quick run: a few queries and small sizes only." if document.get("quick") else ""
    baselines = [f"- {LABELS[name]}: {notes[name]}." for name in BASELINES if name in notes]
    return "\n".join(
        [
            "## 4. Retrieval: the engine against three baselines; flat against approximate search",
            "",
            f"`{results.command}` ({duration(results.seconds)}), one run in one process, so a ratio here is that "
            f"run's alone (no rounds).{quick} Corpus: {document.get('entries', '?')} entries, "
            f"{document.get('phrasings', '?')} phrasings; eval set: {document.get('in_scope_queries', '?')} "
            f"in-scope queries and {document.get('out_of_scope_queries', '?')} out-of-scope ones (no expected "
            f"entry). Each method answers with its best entry and that entry's score; its threshold is set so that "
            f"{rate} of the out-of-scope queries are rejected (in fact: {rejected_in_fact(methods)}), and answered "
            "precision is the share right among the in-scope queries it then answers. The thresholds are chosen on "
            "the eval set itself, for every method alike (the engine's index also calibrated its score bands on it; "
            "these figures use its top score, not its bands). Latency: "
            f"{document.get('latency', '')}, over {document.get('latency_queries', '?')} queries.",
            "",
            f"- engine: {notes.get('engine', 'the FAQ service')}.",
            *baselines,
            "",
            methods_table(document),
            "",
            f"Scale: synthetic knowledge bases made of the corpus's {scale.get('base_vectors', '?')} phrasing "
            f"vectors plus Gaussian noise (σ = {scale.get('noise_sigma', '?')} per dimension, seed "
            f"{scale.get('seed', '?')}), re-normalised; the {scale.get('queries', '?')} eval queries' vectors are "
            f"searched one at a time for the top {scale.get('k', '?')} ({scale.get('threads', '?')} FAISS threads). "
            f"Baseline: {scale.get('flat', 'flat')}; approximate: {scale.get('approximate', '?')} "
            f"({ivf_settings(scale)}). Index size: {scale.get('memory', '?')}.",
            "",
            table(
                ["entries", "figure", "approximate (IVF)", "flat (baseline)", "approximate / flat"], scale_rows(scale)
            ),
            "",
        ]
    )
