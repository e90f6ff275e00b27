"""Application settings, read from the environment (and an optional .env file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handoff_api.wecom.settings import WeComChannelSettings

DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"


class Settings(BaseSettings):
    """Everything the API process needs; one setting per backend, embedded defaults."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_mode: Literal["development", "production"] = "development"
    secret_key: SecretStr = SecretStr(DEVELOPMENT_SECRET)
    database_url: str = "sqlite+aiosqlite:///var/engine.db"
    redis_url: str | None = None
    redis_key_prefix: str = "tre"
    rasa_url: str = "http://127.0.0.1:5005"
    """The Rasa server, or several replicas separated by commas (conversations stick to one by id)."""
    rasa_timeout_seconds: float = Field(default=10.0, gt=0)
    """Longer than this and the turn is answered by the API's own tier 1 (see handoff_api.local_tier1)."""
    rasa_auth_token: SecretStr | None = None
    """Rasa's HTTP API token (`rasa run --auth-token`); the launcher makes one up when unset."""
    action_endpoint_token: SecretStr | None = None
    """The token Rasa presents on the action endpoint (/webhook?token=); unset: the endpoint refuses all."""
    action_max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    """Largest action call accepted (Rasa sends the conversation's tracker with every call)."""
    kb_index_dir: Path = Path("var/index")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = ""
    max_message_chars: int = Field(default=2000, ge=1)
    staff_token_minutes: int = Field(default=30, ge=1)
    client_token_minutes: int = Field(default=60, ge=1)
    integration_api_key: SecretStr | None = None
    seed_demo_directory: bool | None = None
    tick_seconds: float = Field(default=2.0, gt=0)
    wecom: WeComChannelSettings = Field(default_factory=WeComChannelSettings)
    """The WeCom channel, read from WECOM_* variables (off unless WECOM_ENABLED=true)."""

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Settings:
        if self.app_mode != "development" and self.secret_key.get_secret_value() == DEVELOPMENT_SECRET:
            raise ValueError("SECRET_KEY must be set to a real secret when APP_MODE is not 'development'")
        if self.app_mode != "development" and len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters outside development mode")
        return self

    @property
    def is_development(self) -> bool:
        """True in development mode (demo data and demo tokens allowed)."""
        return self.app_mode == "development"

    @property
    def seeds_demo_directory(self) -> bool:
        """Seed the demo staff and clients into an empty directory (default: in development mode only)."""
        return self.is_development if self.seed_demo_directory is None else self.seed_demo_directory

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa replica's base URL, in the configured order."""
        return [url.strip().rstrip("/") for url in self.rasa_url.split(",") if url.strip()]

    @property
    def base_url(self) -> str:
        """Where people reach this API."""
        return self.public_base_url or f"http://{self.api_host}:{self.api_port}"
