"""Staff sessions: refresh tokens, their rotation and reuse detection (the port and its pure parts).

A sign-in starts a family (the session). Each refresh token is an opaque random string; only its SHA-256
is stored. Using a token rotates it: it is marked rotated and a new token of the same family replaces
it. A rotated token presented again means it was copied: the whole family is revoked, and the thief and
the owner both sign in again. Logout revokes the family; logout everywhere, a password change and
disabling revoke every family of the staff member.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

TOKEN_BYTES = 32


class RefreshOutcome(StrEnum):
    """What presenting a refresh token came to."""

    ROTATED = "rotated"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    REUSED = "reused"


@dataclass(frozen=True)
class RefreshToken:
    """One stored refresh token (by hash) of a staff member's session family."""

    token_hash: str
    staff_id: str
    family_id: str
    issued_at: datetime
    expires_at: datetime
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class Rotation:
    """The outcome of a refresh, and whose session it was (None for an unknown token)."""

    outcome: RefreshOutcome
    staff_id: str | None = None
    family_id: str | None = None


def new_refresh_token() -> str:
    """A fresh opaque refresh token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_family_id() -> str:
    """A fresh session family id."""
    return secrets.token_hex(16)


def hash_refresh_token(token: str) -> str:
    """The stored form of a refresh token: hex SHA-256 (the token is random, so no salt or stretching is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class RefreshTokenStore(Protocol):
    """Refresh tokens by hash: memory (tests, one process) and SQL (the record)."""

    async def add(self, token: RefreshToken) -> None:
        """Store a new token (the first of a family, at sign-in)."""
        ...

    async def rotate(self, token_hash: str, new_hash: str, expires_at: datetime, now: datetime) -> Rotation:
        """Use a token: if live, mark it rotated and store `new_hash` in its family (ROTATED), atomically.

        A token rotated before (or by a concurrent call) revokes its family (REUSED); a revoked one is
        REVOKED, an expired one EXPIRED, an unknown one UNKNOWN; nothing is stored in those cases.
        """
        ...

    async def get(self, token_hash: str) -> RefreshToken | None:
        """The stored token, or None."""
        ...

    async def family_live(self, family_id: str, now: datetime) -> bool:
        """Whether the family still has a token that is neither rotated, revoked nor expired."""
        ...

    async def revoke_family(self, family_id: str, now: datetime) -> int:
        """Revoke every token of a family that is not revoked yet; how many."""
        ...

    async def revoke_staff(self, staff_id: str, now: datetime) -> int:
        """Revoke every token of a staff member that is not revoked yet; how many."""
        ...
