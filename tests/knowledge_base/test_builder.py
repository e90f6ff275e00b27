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


def test_a_corpus_of_standard_questions_only_builds_with_answer_sentence_bands(
    tmp_path: Path, char_encoder: CharEncoder, off_topic: Path
) -> None:
    from .conftest import SAMPLE_YAML

    bare = tmp_path / "bare.yml"
    lines = [line for line in SAMPLE_YAML.splitlines() if not line.startswith("    - ") and "similar:" not in line]
    bare.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert all(not entry.similar for entry in load_corpus([bare]).entries)
    result = build([bare], tmp_path / "index", options(off_topic), encoder=char_encoder, log=lambda _: None)
    calibration = result.meta["calibration"]
    assert calibration["method"] == "answer sentences as pseudo-queries"
    assert calibration["source"].startswith("auto: answer sentences")
    assert calibration["positives"] >= 5 and calibration["negatives"] == 4
    assert result.meta["bands"]["suggest"] <= result.meta["bands"]["answer"]
    assert result.meta["scorer"]["training_rows"] == 10  # 5 questions + 5 documents


def test_build_with_feedback_adds_learned_rows_and_changes_the_fingerprint(
    sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path
) -> None:
    out = tmp_path / "index"
    first = build([sample_corpus], out, options(off_topic), encoder=char_encoder, log=lambda _: None)
    feedback = tmp_path / "fb.jsonl"
    feedback.write_text('{"query": "密码记不得了", "faq_id": "cs-reset-password"}\n', encoding="utf-8")
    learned = build(
        [sample_corpus], out, options(off_topic, feedback_file=feedback), if_changed=True, encoder=char_encoder
    )
    assert not learned.skipped and learned.learned is not None and learned.learned.added == 1
    assert learned.meta["learned"] == {"phrasings": 1, "files": {str(feedback): 1}}
    assert learned.meta["fingerprint"]["learned_hash"] != first.meta["fingerprint"]["learned_hash"]
    rows = json.loads((out / "id_map.json").read_text(encoding="utf-8"))
    assert rows[12] == ["cs-reset-password", "密码记不得了", f"{feedback}:1"]  # after its entry's corpus rows
    assert rows[13][0] == "fw-what-is-etf" and len(rows[13]) == 2


def test_learn_from_an_index_without_the_corpus_files(
    sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path
) -> None:
    from knowledge_base.builder import learn

    out = tmp_path / "index"
    build([sample_corpus], out, options(off_topic), encoder=char_encoder, log=lambda _: None)
    (sample_corpus / "sample.yml").unlink()
    feedback = tmp_path / "fb.jsonl"
    feedback.write_text(
        '{"query": "两融门槛多少", "faq_id": "wm-margin-open"}\n'
        '{"query": "两融门槛多少？", "faq_id": "wm-margin-open"}\n',
        encoding="utf-8",
    )
    result = learn(out, feedback, out, off_topic_file=off_topic, encoder=char_encoder, log=lambda _: None)
    assert result.learned is not None and (result.learned.added, result.learned.duplicates) == (1, 1)
    assert result.meta["phrasings"] == 21 and result.meta["learned"]["phrasings"] == 1
    assert result.meta["calibration"]["method"] == "cross-validated phrasings"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "faq_id": "missing"}\n', encoding="utf-8")
    before = (out / META_FILE).read_bytes()
    with pytest.raises(QueriesError, match="not in the index"):
        learn(out, bad, out, off_topic_file=off_topic, encoder=char_encoder, log=lambda _: None)
    assert (out / META_FILE).read_bytes() == before
