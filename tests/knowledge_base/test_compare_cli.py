"""`python -m knowledge_base.compare --json --quick` on a tiny corpus: one JSON document with every key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.compare import METHODS, main

from .conftest import CharEncoder

QUERIES = [
    {"query": "开科创板要多少资产", "expected_id": "bg-kcb-threshold"},
    {"query": "科创板权限要多少钱", "expected_id": "bg-kcb-threshold"},
    {"query": "创业板权限怎么开", "expected_id": "bg-cyb-threshold"},
    {"query": "交易密码忘了", "expected_id": "cs-reset-password"},
    {"query": "etf是什么意思", "expected_id": "fw-what-is-etf"},
    {"query": "两融怎么开通", "expected_id": "wm-margin-open"},
    {"query": "今天吃什么", "expected_id": None},
    {"query": "周末去哪玩", "expected_id": None},
]
METHOD_KEYS = {
    "top1",
    "answered_precision",
    "answered_rate",
    "out_of_scope_rejected",
    "threshold",
    "build_seconds",
    "latency_ms_p50",
    "latency_ms_p95",
}
KIND_KEYS = {"latency_ms_p50", "latency_ms_p95", "recall_at_10", "memory_mib", "build_seconds"}


@pytest.fixture
def queries(tmp_path: Path) -> Path:
    path = tmp_path / "queries.jsonl"
    path.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUERIES) + "\n", encoding="utf-8")
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(argv, encoder=CharEncoder()) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    document = json.loads(out[0])
    assert isinstance(document, dict)
    return document


def test_quick_json_has_every_key(
    sample_corpus: Path, queries: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        "--json",
        "--quick",
        "--faq",
        str(sample_corpus),
        "--queries",
        str(queries),
        "--index",
        str(tmp_path / "none"),
    ]
    document = run(argv, capsys)
    assert document["quick"] is True and document["rejection_rate"] == 0.9
    assert document["in_scope_queries"] == 6 and document["out_of_scope_queries"] == 2
    methods = document["methods"]
    assert isinstance(methods, dict) and set(methods) == set(METHODS)
    for figures in methods.values():
        assert set(figures) == METHOD_KEYS
        assert 0.0 <= figures["top1"] <= 1.0
        assert figures["build_seconds"] >= 0 and figures["latency_ms_p95"] >= figures["latency_ms_p50"] >= 0
    assert methods["encoder"]["top1"] >= 0.5
    assert "built for this run" in document["notes"]["engine"]  # type: ignore[index]
    scale = document["scale"]
    assert isinstance(scale, dict) and set(scale["sizes"]) == {"200", "1000"}
    for size in scale["sizes"].values():
        assert set(size["flat"]) == KIND_KEYS and set(size["approximate"]) == KIND_KEYS | {"nlist", "nprobe"}
        assert size["flat"]["recall_at_10"] == 1.0


def test_an_up_to_date_index_is_reused(
    sample_corpus: Path, queries: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from knowledge_base.builder import BuildOptions, build

    index = tmp_path / "index"
    options = BuildOptions(encoder="test-chars", calibrate_file=queries)
    build([sample_corpus], index, options, encoder=CharEncoder(), log=lambda _: None)
    argv = ["--quick", "--faq", str(sample_corpus), "--queries", str(queries), "--index", str(index)]
    assert main(argv, encoder=CharEncoder()) == 0
    document = json.loads(capsys.readouterr().out)
    assert "up to date" in document["notes"]["engine"]
    assert document["methods"]["engine"]["build_seconds"] > 0
