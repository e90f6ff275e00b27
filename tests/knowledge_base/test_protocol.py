from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.protocol import METRICS, format_report, run_protocol

from .conftest import CharEncoder

LEARN = [
    ("科创板要多少资产才能开", "bg-kcb-threshold"),
    ("688的票买不了咋办", "bg-kcb-threshold"),
    ("创业板门槛多少", "bg-cyb-threshold"),
    ("300的股票买不了", "bg-cyb-threshold"),
    ("密码不记得了", "cs-reset-password"),
    ("etf是个啥", "fw-what-is-etf"),
]
HOLDOUT = [
    ("科创板权限要求", "bg-kcb-threshold"),
    ("开创业板的条件", "bg-cyb-threshold"),
    ("交易密码忘掉了", "cs-reset-password"),
    ("什么叫etf", "fw-what-is-etf"),
    ("两融开户条件", "wm-margin-open"),
    ("明天下雨吗", None),
    ("推荐个电影", None),
]


@pytest.fixture
def history(tmp_path: Path) -> Path:
    directory = tmp_path / "history"
    directory.mkdir()
    learn = "".join(json.dumps({"query": q, "faq_id": i}, ensure_ascii=False) + "\n" for q, i in LEARN)
    holdout = "".join(json.dumps({"query": q, "expected_id": i}, ensure_ascii=False) + "\n" for q, i in HOLDOUT)
    (directory / "learn.jsonl").write_text(learn, encoding="utf-8")
    (directory / "holdout.jsonl").write_text(holdout, encoding="utf-8")
    return directory


def test_protocol_reports_every_scenario_and_scoring(sample_corpus: Path, history: Path, off_topic: Path) -> None:
    logged: list[str] = []
    report = run_protocol(CharEncoder(), sample_corpus, history, off_topic, logged.append)
    assert list(report) == ["standard", "shipped", "learned", "entries-left-out"]
    assert report["standard"]["today"] == "cannot build: no 'similar' phrasings"
    for scenario, scorings in report.items():
        assert list(scorings) == ["today", "blend", "fused"]
        for scoring, figures in scorings.items():
            if isinstance(figures, str):
                continue
            assert all(0.0 <= figures[m] <= 1.0 for m in METRICS), (scenario, scoring, figures)
            resolvable = figures["answered_right"] + figures["suggested_right"]
            assert figures["tier1_resolvable"] == pytest.approx(resolvable, abs=1e-4)
    standard, learned = report["standard"]["fused"], report["learned"]["fused"]
    assert isinstance(standard, dict) and isinstance(learned, dict)
    assert standard["calibration"] == "answer sentences as pseudo-queries"
    assert learned["calibration"] == "cross-validated phrasings"
    assert len(logged) == 4
    table = format_report(report)
    assert table.splitlines()[0].split()[:3] == ["scenario", "scoring", "top1"]
    assert "entries-left-out  fused" in table
