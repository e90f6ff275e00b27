"""Settings: secrets come from the environment, and production refuses the development secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from handoff_api.settings import DEVELOPMENT_SECRET, Settings


def test_development_mode_runs_on_the_embedded_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_MODE", "SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.is_development and settings.seeds_demo_directory
    assert settings.database_url == "sqlite+aiosqlite:///var/engine.db"
    assert settings.redis_url is None


def test_production_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_MODE", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings(_env_file=None)


def test_production_refuses_a_short_secret_and_accepts_a_real_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_MODE", "production")
    monkeypatch.setenv("SECRET_KEY", "too-short")
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(_env_file=None)
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    settings = Settings(_env_file=None)
    assert not settings.is_development and not settings.seeds_demo_directory
    assert settings.secret_key.get_secret_value() != DEVELOPMENT_SECRET
    assert "x" * 40 not in repr(settings)
