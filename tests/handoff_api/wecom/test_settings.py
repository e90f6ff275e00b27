"""WeComSettings validation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from handoff_api.wecom.settings import WeComSettings

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
