from __future__ import annotations

from pathlib import Path

import pytest

from knowledge_base.evaluation import EvalRecord, LabelledQuery, QueriesError, failures, load_queries, summarise
from knowledge_base.models import Band, Category, FaqEntry, FollowUpQueue, Hit, Retrieval


def test_load_queries_reports_each_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(
        '{"query": "开户", "expected_id": "a"}\n'
        "\n"
        "not json\n"
        '{"query": "", "expected_id": null}\n'
        '{"query": "x"}\n'
        '{"query": "y", "expected_id": 3}\n'
        '{"query": "z", "expected_id": "zzz"}\n'
        '["list"]\n',
        encoding="utf-8",
    )
    with pytest.raises(QueriesError) as caught:
        load_queries(path, known_ids={"a"})
    assert [str(p).split(": ", 1)[0] for p in caught.value.problems] == [f"{path}:{n}" for n in (3, 4, 5, 6, 7, 8)]


def test_load_queries_ok_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": " 开户 ", "expected_id": "a"}\n{"query": "天气", "expected_id": null}\n', "utf-8")
    assert load_queries(path) == [LabelledQuery("开户", "a", 1), LabelledQuery("天气", None, 2)]
    with pytest.raises(QueriesError, match="cannot read"):
        load_queries(tmp_path / "missing.jsonl")


def record(expected: str | None, band: Band, ranked: list[str], latency: float = 1.0) -> EvalRecord:
    hits = tuple(
        Hit(FaqEntry(i, Category.FINANCE_WIKI, FollowUpQueue.ADVISOR, "q", (), "a"), 0.9 - n / 10, "q")
        for n, i in enumerate(ranked)
    )
    return EvalRecord(LabelledQuery("q", expected), Retrieval("q", band, hits), latency)


def test_summarise_metrics() -> None:
    records = [
        record("a", Band.ANSWER, ["a", "b"], 1.0),  # right answer
        record("a", Band.ANSWER, ["b", "a"], 2.0),  # wrong answer, top-2
        record("c", Band.SUGGEST, ["x", "y", "c"], 3.0),  # top-3 suggestion
        record("d", Band.ESCALATE, ["x"], 4.0),  # miss
        record(None, Band.ANSWER, ["x"], 5.0),  # off-topic answered
        record(None, Band.ESCALATE, ["x"], 6.0),
    ]
    summary = summarise(records)
    assert summary["n"] == 6 and summary["answerable"] == 4 and summary["null"] == 2
    assert summary["top1"] == 0.25 and summary["top3"] == 0.75
    assert summary["mrr10"] == pytest.approx(round((1 + 0.5 + 1 / 3 + 0) / 4, 4))
    assert summary["answered_rate"] == 0.5
    assert summary["answered_precision"] == pytest.approx(round(1 / 3, 4))
    assert summary["out_of_scope_rejected"] == 0.5
    assert summary["latency_ms_p50"] == pytest.approx(3.5)
    assert summary["answered_right"] == 0.25 and summary["answered_wrong"] == 0.25
    assert summary["suggested_right"] == 0.25 and summary["tier1_resolvable"] == 0.5
    assert summary["oos_answered"] == 0.5
    assert [row["band"] for row in failures(records)] == ["answer", "suggest", "escalate", "answer"]


def test_a_suggestion_counts_only_when_the_right_entry_is_among_the_first_three() -> None:
    records = [
        record("c", Band.SUGGEST, ["x", "y", "z", "c"]),
        record("c", Band.SUGGEST, ["c", "y"]),
        record("c", Band.ESCALATE, ["c"]),
    ]
    summary = summarise(records)
    assert summary["suggested_right"] == pytest.approx(round(1 / 3, 4))
    assert summary["tier1_resolvable"] == summary["suggested_right"]
    assert summary["oos_answered"] is None
