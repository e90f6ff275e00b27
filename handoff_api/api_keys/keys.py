"""Integration API keys: scopes, the key format, and checking a presented key against its stored verifier.

A key reads `tre_<id>_<secret>`: the id (16 hex characters) is public and finds the stored row; the secret
is 32 random bytes (URL-safe base64). Only the SHA-256 of the whole key is stored: keys are long random
tokens, so a fast hash is a proper verifier (a password hash is for guessable secrets), and it is compared
in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

KEY_PREFIX = "tre"
ID_HEX_CHARS = 16
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY_PATTERN = re.compile(rf"^{KEY_PREFIX}_(?P<id>[0-9a-f]{{{ID_HEX_CHARS}}})_(?P<secret>[A-Za-z0-9_-]{{43}})$")


class Scope(StrEnum):
    """What a key may do on the client API."""

    OPEN = "conversations:open"
    """Open (or find the open) conversation of any client of the directory."""
    READ = "conversations:read"
    """Read a conversation, its facts and its transcript."""
    WRITE = "conversations:write"
    """Send a client's messages and feedback (问题已解答 / 问题未解答) into a conversation."""


class InvalidKeyRequest(ValueError):
    """A key name or scope that cannot be used; the message says why."""


@dataclass(frozen=True)
class ApiKey:
    """A stored key, without its secret."""

    id: str
    name: str
    scopes: frozenset[Scope]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Not revoked."""
        return self.revoked_at is None

    def allows(self, scope: Scope) -> bool:
        """Whether the key carries `scope`."""
        return scope in self.scopes


@dataclass(frozen=True)
class IssuedKey:
    """A new key: its record, the key itself (shown once, never stored) and the verifier that is stored."""

    key: ApiKey
    presented: str
    secret_hash: str


def check_name(name: str) -> str:
    """The name if usable: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit."""
    if not NAME_PATTERN.match(name):
        raise InvalidKeyRequest(
            f"key name {name!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """The scopes named (at least one); InvalidKeyRequest naming the unknown ones and the known set."""
    names = [value.strip() for value in values if value.strip()]
    known = {scope.value for scope in Scope}
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidKeyRequest(f"unknown scope {', '.join(unknown)}; the scopes are {', '.join(sorted(known))}")
    if not names:
        raise InvalidKeyRequest(f"a key needs at least one scope: {', '.join(sorted(known))}")
    return frozenset(Scope(name) for name in names)


def issue(name: str, scopes: frozenset[Scope], now: datetime) -> IssuedKey:
    """A new random key named `name` with `scopes`."""
    key_id = secrets.token_hex(ID_HEX_CHARS // 2)
    presented = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    return IssuedKey(ApiKey(key_id, check_name(name), scopes, now), presented, digest(presented))


def looks_like_key(presented: str) -> bool:
    """Whether a bearer credential is meant as an API key (rather than a client token)."""
    return presented.startswith(f"{KEY_PREFIX}_")


def key_id_of(presented: str) -> str | None:
    """The public id of a well-formed key, or None."""
    match = _KEY_PATTERN.match(presented)
    return match.group("id") if match else None


def digest(presented: str) -> str:
    """The stored verifier of a key: SHA-256, hex."""
    return hashlib.sha256(presented.encode("utf-8")).hexdigest()


def matches(presented: str, secret_hash: str) -> bool:
    """Whether `presented` is the key whose verifier is `secret_hash` (constant-time comparison)."""
    return hmac.compare_digest(digest(presented), secret_hash)
