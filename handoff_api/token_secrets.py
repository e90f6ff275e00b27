"""The secrets that sign staff and client tokens: separate ones in production, derived ones in development.

Production sets STAFF_TOKEN_SECRET and CLIENT_TOKEN_SECRET (the settings refuse to start without both).
Development may set either; what is unset is derived from SECRET_KEY (HMAC-SHA256 per purpose, so the
staff secret cannot be computed from the client secret that client apps hold). Without SECRET_KEY, a
random root secret is made on first use and kept in SECRET_FILE (var/secret_key, mode 0600), so each
machine signs with its own secret and a token forged with anything in the repository is refused.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from pydantic import SecretStr

from handoff_api.settings import MIN_SECRET_CHARS, Settings

log = logging.getLogger(__name__)

STAFF_PURPOSE = "tre:staff-tokens"
CLIENT_PURPOSE = "tre:client-tokens"


class SecretFileError(RuntimeError):
    """The development secret file cannot be read or written, or holds no usable secret."""


def staff_token_secret(settings: Settings) -> str:
    """The secret staff tokens are signed and checked with."""
    return _secret(settings, settings.staff_token_secret, STAFF_PURPOSE)


def client_token_secret(settings: Settings) -> str:
    """The secret client tokens are signed and checked with (the client app's backend holds it too)."""
    return _secret(settings, settings.client_token_secret, CLIENT_PURPOSE)


def _secret(settings: Settings, explicit: SecretStr | None, purpose: str) -> str:
    if explicit is not None:
        return explicit.get_secret_value()
    if not settings.is_development:
        raise SecretFileError("production signs tokens only with STAFF_TOKEN_SECRET and CLIENT_TOKEN_SECRET")
    root = settings.secret_key.get_secret_value() if settings.secret_key else development_secret(settings.secret_file)
    return hmac.new(root.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).hexdigest()


@functools.cache
def development_secret(path: Path) -> str:
    """The root secret kept in `path`, made (randomly, mode 0600) the first time; the same in every worker."""
    try:
        if not path.exists():
            _create(path)
        _keep_private(path)
        secret = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SecretFileError(f"cannot use the development secret file {path}: {exc.strerror or exc}") from exc
    if len(secret) < MIN_SECRET_CHARS:
        raise SecretFileError(f"the development secret file {path} holds no usable secret; delete it to make a new one")
    return secret


def _create(path: Path) -> None:
    """Write a new secret to `path` unless another process got there first (link is atomic and never replaces)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, path)
            log.info("development: made a new token secret in %s (mode 0600)", path)
        except FileExistsError:
            pass  # another worker made it first: use theirs
    finally:
        draft.unlink(missing_ok=True)


def _keep_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        path.chmod(0o600)
        log.warning("development: %s was readable by others (mode %o); now 0600", path, mode)
