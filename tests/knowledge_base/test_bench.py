from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.bench import CachingEncoder, main, parse_setting


def test_bench_reports_each_setting(sample_corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text(
        '{"query": "开科创板要什么条件", "expected_id": "bg-kcb-threshold"}\n'
        '{"query": "交易密码找不回来了", "expected_id": "cs-reset-password"}\n'
        '{"query": "周末去哪玩", "expected_id": null}\n',
        encoding="utf-8",
    )
    argv = [
        "--faq",
        str(sample_corpus),
        "--queries",
        str(queries),
        "--weights",
        "document=0.5,best=0.5",
        "classifier=0.3",
    ]
    assert main(argv) == 0
    blend, fused = (json.loads(line) for line in capsys.readouterr().out.strip().splitlines())
    assert blend["normalisation"] == "canonical"
    assert blend["weights"]["document"] == 0.5 and blend["weights"]["classifier"] == 0.0
    assert fused["weights"]["classifier"] == 0.3 and fused["weights"]["mean"] == 0.2
    for report in (blend, fused):
        assert 0.0 <= report["cv_top1"] <= 1.0
        assert set(report["eval_auto_bands"]) >= {"top1", "answered_rate", "answered_precision"}


def test_caching_encoder_saves_and_reloads_its_memo(tmp_path: Path) -> None:
    from .conftest import CharEncoder

    memo = tmp_path / "memo.npz"
    first = CachingEncoder(CharEncoder())
    vectors = first.encode(["开户", "销户"])
    first.encode_passages(["开户"])
    first.save(memo)
    second = CachingEncoder(CharEncoder())
    assert second.load(memo) == 3
    assert np.array_equal(second.encode(["开户", "销户"]), vectors)
    assert CachingEncoder(CharEncoder(name="other")).load(memo) == 0
    with pytest.raises(ValueError, match="unknown scoring weight"):
        parse_setting("bogus=1")
