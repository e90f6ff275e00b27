"""Application settings, read from the environment (and an optional .env file)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from limits import parse_many
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handoff_api.wecom.settings import WeComChannelSettings

MIN_SECRET_CHARS = 32
"""The shortest token secret production accepts."""


RASA_SERVER_KEEPALIVE_SECONDS = 120
"""How long a Rasa 3.6 server keeps an idle connection (its DEFAULT_KEEP_ALIVE_TIMEOUT; `rasa run` has no option
for it)."""
RASA_KEEPALIVE_SECONDS = 60.0
"""How long the API keeps an idle connection to Rasa by default (RASA_KEEPALIVE_SECONDS): well under Rasa's own."""


class Settings(BaseSettings):
    """Everything the API process needs; one setting per backend, embedded defaults."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_mode: Literal["development", "production"] = "development"
    secret_key: SecretStr | None = None
    """Development: the root both token secrets are derived from (unset: made up once and kept in SECRET_FILE)."""
    secret_file: Path = Path("var/secret_key")
    """Development without SECRET_KEY: where the generated root secret is kept (mode 0600)."""
    staff_token_secret: SecretStr | None = None
    """Signs staff tokens; required in production (at least 32 characters, not the client token secret)."""
    client_token_secret: SecretStr | None = None
    """Signs client tokens, shared with the client app's backend; required in production (at least 32 characters)."""
    database_url: str = "sqlite+aiosqlite:///var/engine.db"
    redis_url: str | None = None
    redis_key_prefix: str = "tre"
    rasa_url: str = "http://127.0.0.1:5005"
    """The Rasa server, or several replicas separated by commas (conversations stick to one by id)."""
    rasa_timeout_seconds: float = Field(default=10.0, gt=0)
    """Longer than this and the turn is answered by the API's own tier 1 (see handoff_api.local_tier1)."""
    rasa_keepalive_seconds: float = Field(default=RASA_KEEPALIVE_SECONDS, gt=0, lt=RASA_SERVER_KEEPALIVE_SECONDS)
    """How long an idle connection to Rasa is kept for the next turn: less than Rasa keeps it, so a turn is never
    sent on a connection Rasa is closing."""
    rasa_nlu_cache_size: int = Field(default=4096, ge=0)
    """Texts whose NLU parse each Rasa server keeps (bot/rasa_server.py); the launcher hands it to Rasa; 0: off."""
    rasa_auth_token: SecretStr | None = None
    """Rasa's HTTP API token (`rasa run --auth-token`); the launcher makes one up when unset."""
    action_endpoint_token: SecretStr | None = None
    """The token Rasa presents on the action endpoint (/webhook?token=); unset: the endpoint refuses all."""
    action_max_body_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    """Largest action call accepted (Rasa sends the conversation's tracker with every call)."""
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    """Largest request body any other route accepts; larger ones get 413 (chunked bodies are counted too)."""
    kb_index_dir: Path = Path("var/index")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str = ""
    max_message_chars: int = Field(default=2000, ge=1)
    widget_max_sockets_per_client: int = Field(default=5, ge=1)
    """Widget sockets one client may hold in one API worker; a new one closes the oldest (4409)."""
    staff_token_minutes: int = Field(default=30, ge=1)
    client_token_minutes: int = Field(default=60, ge=1)
    """Lifetime of the tokens this API issues itself (the demo page's)."""
    client_token_max_minutes: int = Field(default=24 * 60, ge=1)
    """Client tokens valid for longer than this (expiry minus issue time) are refused."""
    seed_demo_directory: bool | None = None
    """Seed the demo staff and clients into an empty database (default: in development; never in production)."""
    api_docs: bool | None = None
    """Serve /docs, /redoc and /openapi.json (default: in development only)."""
    rate_limit_api_key: str = "1200/minute"
    """Requests one integration API key may make (limits notation: "N/second|minute|hour|day", ";" for several)."""
    rate_limit_client: str = "120/minute"
    """Requests per client: a client token's own, and an integration's opens and writes for that client."""
    rate_limit_auth_failures: str = "20/minute"
    """Failed authentications per client address; beyond it the address gets 429 until the window frees."""
    tick_seconds: float = Field(default=2.0, gt=0)
    staff_refresh_minutes: int = Field(default=12 * 60, ge=1)
    """A staff refresh token's lifetime; each refresh starts it again (sliding), so only an idle session ends."""
    rate_limit_staff_login_id: str = "5/minute;20/hour"
    """Failed staff sign-ins per staff id (as typed); beyond it 429 with Retry-After until the window frees."""
    rate_limit_staff_login_address: str = "20/minute;100/hour"
    """Failed staff sign-ins and refreshes per address."""
    password_hash_threads: int = Field(default=2, ge=1, le=2)
    """Threads of the executor that runs argon2 for sign-ins (apart from the default one retrieval uses)."""
    staff_session_check_seconds: float = Field(default=2.0, gt=0)
    """How often a console socket re-checks that its staff token was not revoked (logout, disable)."""
    log_format: Literal["json", "console"] | None = None
    """How log lines are written: one JSON object per line, or readable columns (default: console in development,
    json in production)."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    metrics_token: SecretStr | None = None
    """When set, GET /metrics requires `Authorization: Bearer <token>` (unset: open; keep it off the public proxy)."""
    kb_faq_paths: str = "knowledge_base/data/faq"
    """The corpus files or folders (comma-separated) a learned index version is rebuilt from with new draft entries."""
    learning_index_root: Path = Path("var/index-live")
    """Where learned index versions are written (<root>/v<version>); shared by the workers of one host."""
    learning_watch_seconds: float = Field(default=5.0, gt=0)
    """How often each worker checks for a pending build to run and a newer ready index version to serve."""
    learning_build_timeout_seconds: float = Field(default=900.0, gt=0)
    """A build running longer than this lost its worker: it is marked failed and the next one may start."""
    learning_editor_roles: str = "duty_manager,admin"
    """Staff roles (comma-separated) that act as knowledge editors: review, gaps, drafts (default: supervisors)."""
    wecom: WeComChannelSettings = Field(default_factory=WeComChannelSettings)
    """The WeCom channel, read from WECOM_* variables (off unless WECOM_ENABLED=true)."""

    @field_validator(
        "rate_limit_api_key",
        "rate_limit_client",
        "rate_limit_auth_failures",
        "rate_limit_staff_login_id",
        "rate_limit_staff_login_address",
    )
    @classmethod
    def _rate_limit_notation(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a rate limit such as '120/minute' or '10/second;500/hour'") from exc
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_name(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _safe_for_its_mode(self) -> Settings:
        if self.client_token_minutes > self.client_token_max_minutes:
            raise ValueError("CLIENT_TOKEN_MINUTES must not exceed CLIENT_TOKEN_MAX_MINUTES")
        if self.is_development:
            if not is_loopback(self.api_host):
                raise ValueError(
                    f"development mode listens on loopback only, not API_HOST={self.api_host!r}: "
                    "use API_HOST=127.0.0.1, or APP_MODE=production with its secrets to serve a network"
                )
            return self
        self._check_production_secrets()
        if self.seed_demo_directory:
            raise ValueError("SEED_DEMO_DIRECTORY=true is refused in production: demo accounts are for development")
        return self

    def _check_production_secrets(self) -> None:
        staff, client = self.staff_token_secret, self.client_token_secret
        if staff is None or client is None:
            raise ValueError(
                "production needs STAFF_TOKEN_SECRET and CLIENT_TOKEN_SECRET, two different secrets "
                f"of at least {MIN_SECRET_CHARS} characters (SECRET_KEY alone is for development)"
            )
        for name, secret in (("STAFF_TOKEN_SECRET", staff), ("CLIENT_TOKEN_SECRET", client)):
            if len(secret.get_secret_value()) < MIN_SECRET_CHARS:
                raise ValueError(f"{name} must be at least {MIN_SECRET_CHARS} characters in production")
        if staff.get_secret_value() == client.get_secret_value():
            raise ValueError("STAFF_TOKEN_SECRET and CLIENT_TOKEN_SECRET must differ (client apps hold the client one)")

    @property
    def is_development(self) -> bool:
        """True in development mode (demo data and demo tokens allowed)."""
        return self.app_mode == "development"

    @property
    def seeds_demo_directory(self) -> bool:
        """Seed the demo staff and clients into an empty directory (default: in development mode only)."""
        return self.is_development if self.seed_demo_directory is None else self.seed_demo_directory

    @property
    def serves_api_docs(self) -> bool:
        """Whether /docs, /redoc and /openapi.json are served."""
        return self.is_development if self.api_docs is None else self.api_docs

    @property
    def log_renderer(self) -> Literal["json", "console"]:
        """The log format in effect (LOG_FORMAT, else by mode)."""
        if self.log_format is not None:
            return self.log_format
        return "console" if self.is_development else "json"

    @property
    def rasa_urls(self) -> list[str]:
        """Every Rasa replica's base URL, in the configured order."""
        return [url.strip().rstrip("/") for url in self.rasa_url.split(",") if url.strip()]

    @property
    def base_url(self) -> str:
        """Where people reach this API."""
        return self.public_base_url or f"http://{self.api_host}:{self.api_port}"


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address (or localhost): nothing off this machine can reach it."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
