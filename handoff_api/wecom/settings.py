"""WeCom channel settings (nested into the application settings with the WECOM_ prefix)."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

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
