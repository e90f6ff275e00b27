from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.bench import main


def test_bench_reports_each_setting(sample_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"query": "开科创板要什么条件", "expected_id": "bg-kcb-threshold"}\n'
        '{"query": "交易密码找不回来了", "expected_id": "cs-reset-password"}\n'
        '{"query": "周末去哪玩", "expected_id": null}\n',
        encoding="utf-8",
    )
    argv = ["--faq", str(sample_corpus), "--queries", str(queries), "--weights", "document=0.5,best=0.5,lexical=0"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip())
    assert report["normalisation"] == "canonical"
    assert 0.0 <= report["loo_top1"] <= 1.0
    assert set(report["eval_auto_bands"]) >= {"top1", "answered_rate", "answered_precision"}
