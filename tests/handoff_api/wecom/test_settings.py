"""WeComSettings validation, and the channel settings as a leaf read from WECOM_* variables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from handoff_api.wecom.settings import WeComChannelSettings, WeComSettings

REPO = Path(__file__).resolve().parents[3]

KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def test_disabled_by_default_with_sane_limits():
    settings = WeComSettings()
    assert not settings.enabled
    assert settings.api_base_url == "https://qyapi.weixin.qq.com"
    assert (settings.max_body_bytes, settings.timestamp_skew_seconds) == (65536, 300)


def test_enabled_requires_every_credential():
    with pytest.raises(ValidationError, match="corp_id, token, encoding_aes_key, secret, agent_id"):
        WeComSettings(enabled=True)


def test_enabled_requires_a_43_character_key():
    with pytest.raises(ValidationError, match="43"):
        WeComSettings(enabled=True, corp_id="ww1", token="t", encoding_aes_key="short", agent_id=1, secret="s")


def test_secrets_stay_out_of_repr():
    settings = WeComSettings(
        enabled=True, corp_id="ww1", token="Token-X9", encoding_aes_key=KEY, agent_id=1, secret="Secret-Y7"
    )
    for secret in ("Token-X9", KEY, "Secret-Y7"):
        assert secret not in repr(settings) and secret not in str(settings)


def test_channel_settings_are_read_from_wecom_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WECOM_GUEST_BRANCH", "上海浦东营业部")
    monkeypatch.setenv("WECOM_INBOX_MAX_ATTEMPTS", "5")
    settings = WeComChannelSettings(_env_file=None)
    assert (settings.guest_branch, settings.inbox_max_attempts, settings.enabled) == ("上海浦东营业部", 5, False)


def test_reading_the_settings_loads_no_web_framework_cache_or_database() -> None:
    probe = (
        "import sys, handoff_api.settings; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'fastapi', 'redis', 'sqlalchemy', 'httpx'}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True, cwd=REPO)
    assert result.stdout.strip() == "[]"


def test_inbox_retention_defaults_env_and_order(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = WeComChannelSettings(_env_file=None)
    assert (defaults.inbox_retention_days, defaults.inbox_failed_retention_days) == (30, 90)
    monkeypatch.setenv("WECOM_INBOX_RETENTION_DAYS", "7")
    assert WeComChannelSettings(_env_file=None).inbox_retention_days == 7
    with pytest.raises(ValidationError, match="must not be shorter"):
        WeComChannelSettings(_env_file=None, inbox_retention_days=30, inbox_failed_retention_days=10)
    with pytest.raises(ValidationError):
        WeComChannelSettings(_env_file=None, inbox_retention_days=0)
