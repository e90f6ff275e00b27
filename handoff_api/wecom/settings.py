"""WeCom channel settings, read from WECOM_* environment variables (nested into the application settings).

A leaf module: it imports pydantic and pydantic-settings only, so that reading the settings pulls in
no web framework, cache or database client (an import-linter contract keeps it so).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_BASE_URL = "https://qyapi.weixin.qq.com"
ENCODING_AES_KEY_LENGTH = 43


class WeComSettings(BaseModel):
    """Everything the WeCom channel needs; secrets are kept out of repr()."""

    enabled: bool = False
    corp_id: str = ""
    token: str = Field(default="", repr=False)
    encoding_aes_key: str = Field(default="", repr=False)
    agent_id: int = 0
    secret: str = Field(default="", repr=False)
    api_base_url: str = DEFAULT_API_BASE_URL
    open_kfid: str = ""
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    timestamp_skew_seconds: int = Field(default=300, gt=0)
    dedup_ttl_seconds: int = Field(default=24 * 3600, gt=0)
    console_base_url: str = ""

    @model_validator(mode="after")
    def _complete_when_enabled(self) -> WeComSettings:
        if not self.enabled:
            return self
        missing = [name for name in ("corp_id", "token", "encoding_aes_key", "secret") if not getattr(self, name)]
        if self.agent_id <= 0:
            missing.append("agent_id")
        if missing:
            raise ValueError(f"WeCom is enabled but these settings are empty: {', '.join(missing)}")
        if len(self.encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
            raise ValueError(f"encoding_aes_key must be {ENCODING_AES_KEY_LENGTH} characters long")
        return self


class WeComChannelSettings(BaseSettings, WeComSettings):
    """WeComSettings plus the channel's own knobs, read from WECOM_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="WECOM_", env_file=".env", env_file_encoding="utf-8", extra="ignore")

    guest_branch: str = ""
    """Branch of guest clients (unknown WeCom users); their responder is its duty manager.
    Empty: the branch of the first duty manager in the directory."""
    send_attempts: int = Field(default=3, ge=1)
    send_backoff_seconds: float = Field(default=0.5, gt=0)
    outbox_retry_seconds: float = Field(default=30.0, gt=0)
    drain_interval_seconds: float = Field(default=5.0, gt=0)
    drain_backoff_seconds: float = Field(default=30.0, gt=0)
    drain_max_attempts: int = Field(default=12, ge=1)
    inbox_retry_interval_seconds: float = Field(default=5.0, gt=0)
    inbox_backoff_seconds: float = Field(default=10.0, gt=0)
    inbox_max_attempts: int = Field(default=8, ge=1)
    inbox_retention_days: float = Field(default=30.0, gt=0)
    """Handled inbox items (decrypted client messages) are deleted this long after they arrived."""
    inbox_failed_retention_days: float = Field(default=90.0, gt=0)
    """Items given up after the last attempt are kept longer, for review, then deleted too."""
    inbox_expiry_interval_seconds: float = Field(default=3600.0, gt=0)
    catch_up_hours: float = Field(default=24.0, ge=0)

    @model_validator(mode="after")
    def _failed_items_are_kept_at_least_as_long(self) -> WeComChannelSettings:
        if self.inbox_failed_retention_days < self.inbox_retention_days:
            raise ValueError("inbox_failed_retention_days must not be shorter than inbox_retention_days")
        return self
