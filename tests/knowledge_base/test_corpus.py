from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from knowledge_base.corpus import CorpusError, category_counts, corpus_hash, load_corpus
from knowledge_base.models import Category, FollowUpQueue

from .conftest import SAMPLE_YAML

GOOD: dict[str, object] = {
    "id": "x-1",
    "category": "finance_wiki",
    "queue": "advisor",
    "question": "什么是市盈率？",
    "similar": ["市盈率是啥", "PE怎么理解", "市盈率高好还是低好"],
    "answer": "市盈率是股价除以每股收益。",
}


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n", encoding="utf-8")
    return path


def problems_of(paths: list[Path]) -> list[str]:
    with pytest.raises(CorpusError) as caught:
        load_corpus(paths)
    return [str(problem) for problem in caught.value.problems]


def test_loads_yaml_directory(sample_corpus: Path) -> None:
    corpus = load_corpus([sample_corpus])
    assert [e.id for e in corpus.entries][:2] == ["bg-kcb-threshold", "bg-cyb-threshold"]
    first = corpus.entries[0]
    assert first.category is Category.BUSINESS_GUIDE
    assert first.queue is FollowUpQueue.SERVICE
    assert first.similar[0] == "688开头的股票怎么才能买"
    assert first.tags == ("科创板", "688")
    margin = corpus.entries[-1]
    assert margin.valid_from == date(2020, 1, 1) and margin.valid_to == date(2099, 12, 31)
    assert corpus.phrasing_count == 20
    assert category_counts(corpus.entries)["business_guide"] == 2


def test_loads_jsonl_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "faq.jsonl", [GOOD, {**GOOD, "id": "x-2", "question": "什么是市净率", "similar": []}])
    corpus = load_corpus([path])
    assert [e.id for e in corpus.entries] == ["x-1", "x-2"]
    assert corpus.entries[1].similar == ()


def test_hash_is_independent_of_file_order_and_changes_with_content(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [GOOD])
    b = write_jsonl(tmp_path / "b.jsonl", [{**GOOD, "id": "x-2", "question": "市净率", "similar": ["PB"]}])
    assert load_corpus([a, b]).hash == load_corpus([b, a]).hash
    changed = load_corpus([a]).entries[0]
    assert corpus_hash([changed]) != load_corpus([b]).hash


def test_duplicate_id_reports_both_places(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "faq.jsonl", [GOOD, {**GOOD, "question": "别的问题", "similar": ["另一个"]}])
    assert problems_of([path]) == [f"{path}:2: duplicate id 'x-1' (first at {path}:1)"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"question": None}, "missing field 'question'"),
        ({"answer": "   "}, "field 'answer' is empty"),
        ({"category": "gossip"}, "unknown category 'gossip'"),
        ({"queue": "robot"}, "unknown queue 'robot'"),
        ({"valid_from": "2024-13-01"}, "field 'valid_from' is not a valid YYYY-MM-DD date"),
        ({"valid_from": "2025-02-01", "valid_to": "2025-01-01"}, "valid_to is earlier than valid_from"),
        ({"similar": "not a list"}, "field 'similar' must be a list of strings"),
        ({"similar": ["ok", ""]}, "'similar' item 2 is empty or not a string"),
        ({"tags": [["nested"]]}, "'tags' item 1 is empty or not a string"),
    ],
)
def test_jsonl_field_problems_name_file_and_line(tmp_path: Path, change: dict[str, object], reason: str) -> None:
    bad = {**GOOD, "id": "x-2", "question": "另一个问题", "similar": ["别的说法"], **change}
    bad = {key: value for key, value in bad.items() if value is not None}
    path = write_jsonl(tmp_path / "faq.jsonl", [GOOD, bad])
    problems = problems_of([path])
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:2: {reason}")


def test_yaml_problems_point_at_field_lines(tmp_path: Path) -> None:
    text = SAMPLE_YAML.replace("category: finance_wiki", "category: gossip").replace(
        "  valid_to: 2099-12-31", "  valid_to: 2099-02-30"
    )
    path = tmp_path / "faq.yml"
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    category_line = lines.index("  category: gossip") + 1
    date_line = lines.index("  valid_to: 2099-02-30") + 1
    problems = problems_of([path])
    assert problems[0].startswith(f"{path}:{category_line}: unknown category 'gossip'")
    assert problems[1].startswith(f"{path}:{date_line}: field 'valid_to' is not a valid YYYY-MM-DD date")


def test_yaml_missing_field_points_at_entry_start(tmp_path: Path) -> None:
    text = SAMPLE_YAML.replace("  queue: advisor\n  question: 什么是ETF？\n", "  question: 什么是ETF？\n")
    path = tmp_path / "faq.yml"
    path.write_text(text, encoding="utf-8")
    entry_line = text.splitlines().index("- id: fw-what-is-etf") + 1
    assert problems_of([path]) == [f"{path}:{entry_line}: missing field 'queue'"]


def test_same_normalised_phrasing_under_two_entries(tmp_path: Path) -> None:
    text = SAMPLE_YAML.replace("    - 忘了交易密码咋整", "    - Ｅｔｆ是什么意思")
    path = tmp_path / "faq.yml"
    path.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    first = lines.index("    - Ｅｔｆ是什么意思") + 1
    second = lines.index("    - etf是什么意思") + 1
    problems = problems_of([path])
    assert problems == [
        f"{path}:{second}: phrasing 'etf是什么意思' of 'fw-what-is-etf' duplicates one of "
        f"'cs-reset-password' ({path}:{first})"
    ]


def test_malformed_yaml_reports_parser_line(tmp_path: Path) -> None:
    path = tmp_path / "faq.yml"
    path.write_text("- id: a\n  category: finance_wiki\n  question: [unclosed\n  answer: x\n", encoding="utf-8")
    problems = problems_of([path])
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}:4: malformed YAML")


def test_yaml_top_level_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "faq.yml"
    path.write_text("id: a\nquestion: b\n", encoding="utf-8")
    assert problems_of([path]) == [f"{path}:1: top level must be a list of entries"]


def test_malformed_jsonl_reports_line(tmp_path: Path) -> None:
    path = tmp_path / "faq.jsonl"
    path.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n\n{not json\n[1, 2]\n", encoding="utf-8")
    problems = problems_of([path])
    assert problems[0].startswith(f"{path}:3: malformed JSONL")
    assert problems[1] == f"{path}:4: entry must be a JSON object"


def test_missing_path_and_unsupported_file(tmp_path: Path) -> None:
    other = tmp_path / "notes.txt"
    other.write_text("x", encoding="utf-8")
    problems = problems_of([tmp_path / "nope.yml", other])
    assert problems == [
        f"{tmp_path / 'nope.yml'}:0: no such file or directory",
        f"{other}:0: unsupported file type (expected .yml, .yaml or .jsonl)",
    ]


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "faq.jsonl", [{**GOOD, "category": "x"}, {**GOOD, "id": "y", "queue": "z"}])
    assert len(problems_of([path])) == 2
