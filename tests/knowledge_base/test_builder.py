from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge_base.builder import BuildOptions, build, phrasing_rows, read_off_topic
from knowledge_base.corpus import CorpusError, load_corpus
from knowledge_base.evaluation import QueriesError
from knowledge_base.index import META_FILE

from .conftest import CharEncoder


def options(off_topic: Path, **kwargs: object) -> BuildOptions:
    return BuildOptions(encoder="test-chars", off_topic_file=off_topic, **kwargs)  # type: ignore[arg-type]


def test_bad_corpus_leaves_existing_index_untouched(
    sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path
) -> None:
    out = tmp_path / "index"
    build([sample_corpus], out, options(off_topic), encoder=char_encoder, log=lambda _: None)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(CorpusError):
        build([sample_corpus, bad], out, options(off_topic), encoder=char_encoder, log=lambda _: None)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_if_changed_skips_identical_inputs_only(
    sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path
) -> None:
    out = tmp_path / "index"
    first = build([sample_corpus], out, options(off_topic), encoder=char_encoder, log=lambda _: None)
    again = build([sample_corpus], out, options(off_topic), if_changed=True, encoder=char_encoder)
    assert again.skipped and again.meta["built_at"] == first.meta["built_at"]
    answers = build([sample_corpus], out, options(off_topic, index_answers=True), if_changed=True, encoder=char_encoder)
    assert not answers.skipped and answers.meta["phrasings"] == 25


def test_labelled_calibration_and_bad_queries(
    sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path
) -> None:
    queries = tmp_path / "q.jsonl"
    rows = [
        {"query": "科创板权限要多少钱", "expected_id": "bg-kcb-threshold"},
        {"query": "创业板权限怎么开", "expected_id": "bg-cyb-threshold"},
        {"query": "交易密码忘了", "expected_id": "cs-reset-password"},
        {"query": "今天吃什么", "expected_id": None},
    ]
    queries.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    out = tmp_path / "index"
    result = build([sample_corpus], out, options(off_topic, calibrate_file=queries), encoder=char_encoder)
    assert result.meta["calibration"]["source"] == f"labelled: {queries}"
    assert result.meta["calibration"]["answerable"] == 3
    queries.write_text('{"query": "x", "expected_id": "no-such-entry"}\n', encoding="utf-8")
    with pytest.raises(QueriesError, match="not in the index"):
        build([sample_corpus], out, options(off_topic, calibrate_file=queries), encoder=char_encoder)
    assert json.loads((out / META_FILE).read_text())["calibration"]["answerable"] == 3


def test_refuses_to_replace_a_directory_that_is_not_an_index(
    sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path
) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(ValueError, match="holds no index"):
        build([sample_corpus], precious, options(off_topic), encoder=char_encoder)
    assert (precious / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_if_changed_rebuilds_a_damaged_index(
    sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path
) -> None:
    out = tmp_path / "index"
    build([sample_corpus], out, options(off_topic), encoder=char_encoder)
    (out / "index.faiss").unlink()
    again = build([sample_corpus], out, options(off_topic), if_changed=True, encoder=char_encoder)
    assert not again.skipped and (out / "index.faiss").is_file()


def test_phrasing_rows_skip_duplicates_within_an_entry(sample_corpus: Path) -> None:
    corpus = load_corpus([sample_corpus])
    rows = phrasing_rows(corpus, index_answers=False)
    assert len(rows) == corpus.phrasing_count
    assert len(phrasing_rows(corpus, index_answers=True)) == corpus.phrasing_count + len(corpus.entries)


def test_shipped_off_topic_list_is_long_enough() -> None:
    assert len(read_off_topic(BuildOptions().off_topic_file)) >= 100
