from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge_base.cli import main

EVAL_ROWS = [
    {"query": "开科创板权限需要什么条件", "expected_id": "bg-kcb-threshold"},
    {"query": "交易密码记不得了", "expected_id": "cs-reset-password"},
    {"query": "今天晚饭吃什么好", "expected_id": None},
]


@pytest.fixture(scope="module")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from .conftest import SAMPLE_YAML

    root = tmp_path_factory.mktemp("cli")
    faq = root / "faq.yml"
    faq.write_text(SAMPLE_YAML, encoding="utf-8")
    out = root / "index"
    assert main(["build", "--faq", str(faq), "--out", str(out)]) == 0
    return faq, out


def test_build_prints_summary_and_if_changed(
    built_index: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    faq, out = built_index
    assert main(["build", "--faq", str(faq), "--out", str(out), "--if-changed"]) == 0
    assert "index up to date" in capsys.readouterr().out


def test_search(built_index: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    _, out = built_index
    assert main(["search", "--index", str(out), "交易密码忘了怎么找回", "-k", "2"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("band: ")
    assert "1. cs-reset-password" in text and "2. " in text and "3. " not in text
    assert main(["search", "--index", str(out), "688开头的票怎么买", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["hits"][0]["id"] == "bg-kcb-threshold"


def test_eval_json(built_index: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = built_index
    queries = tmp_path / "q.jsonl"
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in EVAL_ROWS), encoding="utf-8")
    assert main(["eval", "--index", str(out), "--queries", str(queries), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for key in (
        "n",
        "top1",
        "top3",
        "mrr10",
        "answered_rate",
        "answered_precision",
        "out_of_scope_rejected",
        "latency_ms_p50",
        "latency_ms_p95",
    ):
        assert key in summary
    assert summary["n"] == 3 and summary["top1"] == 1.0


def test_eval_bad_queries_exit_2(
    built_index: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out = built_index
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"query": "x", "expected_id": "nope"}\n{oops\n', encoding="utf-8")
    assert main(["eval", "--index", str(out), "--queries", str(queries)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{queries}:1: expected_id 'nope' is not in the index",
        f"{queries}:2: malformed JSONL: Expecting property name enclosed in double quotes (column 2)",
    ]
    assert main(["eval", "--index", str(out), "--queries", str(tmp_path / "none.jsonl")]) == 2


def test_bad_corpus_exits_2_and_keeps_index(
    built_index: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faq, out = built_index
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.yml"
    bad.write_text(faq.read_text(encoding="utf-8").replace("queue: advisor", "queue: robots", 1), encoding="utf-8")
    assert main(["build", "--faq", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"{bad}:") and "unknown queue 'robots'" in err[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_stats(built_index: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    faq, out = built_index
    assert main(["stats", "--faq", str(faq), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["entries"] == 5 and stats["phrasings"] == 20
    assert stats["categories"]["business_guide"] == 2
    assert main(["stats", "--faq", str(faq), "--index", str(out), "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert both["index"]["corpus_hash"] == both["corpus"]["corpus_hash"]


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "--index", "/no/such/index", "x"],
        ["stats", "--json"],
        ["build", "--faq", "/no/such.yml", "--out", "/tmp/never-built"],
        ["build", "--faq", "x.yml", "--out", "o", "--encoder", "bogus"],
    ],
)
def test_bad_arguments_give_a_message_not_a_traceback(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err


def test_module_entry_point_help_and_usage_errors() -> None:
    ok = subprocess.run([sys.executable, "-m", "knowledge_base", "--help"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "build" in ok.stdout and "eval" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "knowledge_base", "search"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
