"""Settings: production needs its own two token secrets, development listens on loopback, limits are checked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from handoff_api.settings import Settings, is_loopback

STAFF_SECRET = "s" * 40
CLIENT_SECRET = "c" * 40
ENVIRONMENT = (
    "APP_MODE",
    "SECRET_KEY",
    "STAFF_TOKEN_SECRET",
    "CLIENT_TOKEN_SECRET",
    "DATABASE_URL",
    "REDIS_URL",
    "API_HOST",
    "API_DOCS",
    "SEED_DEMO_DIRECTORY",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


def production(monkeypatch: pytest.MonkeyPatch, **variables: str) -> None:
    monkeypatch.setenv("APP_MODE", "production")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


def test_development_mode_runs_on_the_embedded_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.is_development and settings.seeds_demo_directory and settings.serves_api_docs
    assert settings.database_url == "sqlite+aiosqlite:///var/engine.db"
    assert settings.redis_url is None and settings.api_host == "127.0.0.1"
    assert settings.secret_key is None and settings.client_token_max_minutes == 24 * 60


def test_production_refuses_to_start_without_separate_token_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch, SECRET_KEY="x" * 40)
    with pytest.raises(ValidationError, match="STAFF_TOKEN_SECRET and CLIENT_TOKEN_SECRET"):
        Settings(_env_file=None)
    production(monkeypatch, STAFF_TOKEN_SECRET=STAFF_SECRET)
    with pytest.raises(ValidationError, match="STAFF_TOKEN_SECRET and CLIENT_TOKEN_SECRET"):
        Settings(_env_file=None)
    production(monkeypatch, CLIENT_TOKEN_SECRET=STAFF_SECRET)
    with pytest.raises(ValidationError, match="must differ"):
        Settings(_env_file=None)
    production(monkeypatch, CLIENT_TOKEN_SECRET="too-short")
    with pytest.raises(ValidationError, match="CLIENT_TOKEN_SECRET must be at least 32"):
        Settings(_env_file=None)


def test_production_with_its_secrets_serves_no_docs_and_seeds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch, STAFF_TOKEN_SECRET=STAFF_SECRET, CLIENT_TOKEN_SECRET=CLIENT_SECRET, API_HOST="0.0.0.0")
    settings = Settings(_env_file=None)
    assert not settings.is_development and not settings.seeds_demo_directory and not settings.serves_api_docs
    assert STAFF_SECRET not in repr(settings) and CLIENT_SECRET not in repr(settings)
    monkeypatch.setenv("API_DOCS", "true")
    assert Settings(_env_file=None).serves_api_docs


def test_production_refuses_to_seed_demo_data(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch, STAFF_TOKEN_SECRET=STAFF_SECRET, CLIENT_TOKEN_SECRET=CLIENT_SECRET)
    monkeypatch.setenv("SEED_DEMO_DIRECTORY", "true")
    with pytest.raises(ValidationError, match="SEED_DEMO_DIRECTORY=true is refused in production"):
        Settings(_env_file=None)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::", "engine.example"])
def test_development_refuses_to_listen_beyond_loopback(monkeypatch: pytest.MonkeyPatch, host: str) -> None:
    monkeypatch.setenv("API_HOST", host)
    with pytest.raises(ValidationError, match="development mode listens on loopback only"):
        Settings(_env_file=None)


def test_loopback_addresses() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost", "LOCALHOST"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "10.0.0.1", "::", "example.com", ""))


def test_rate_limits_and_token_lifetimes_are_checked() -> None:
    with pytest.raises(ValidationError, match="is not a rate limit"):
        Settings(_env_file=None, rate_limit_client="lots")
    assert Settings(_env_file=None, rate_limit_client="10/second;500/hour").rate_limit_client == "10/second;500/hour"
    with pytest.raises(ValidationError, match="CLIENT_TOKEN_MINUTES must not exceed"):
        Settings(_env_file=None, client_token_minutes=120, client_token_max_minutes=60)
