"""Signed tokens: HS256 JWTs with an audience, required claims and an expiry.

Client tokens (audience "client", `client_tokens`) and staff tokens (audience "staff", `staff.auth`) are
both issued and checked here. Times come from the caller (the routing clock in the API), so expiry is
checked against the same clock as everything else; PyJWT only verifies the signature and the audience.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

ALGORITHM = "HS256"
MISSING = "missing token"
EXPIRED = "token expired"
INVALID = "invalid token"


class InvalidToken(Exception):
    """A token that is missing, malformed, forged, expired or meant for another audience; `reason` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class VerifiedClaims:
    """The claims of a valid token and the instant it expires."""

    claims: Mapping[str, Any]
    expires_at: datetime


def issue_token(secret: str, audience: str, claims: Mapping[str, object], now: datetime, lifetime: timedelta) -> str:
    """A signed token carrying `claims`, for `audience`, issued at `now` and valid for `lifetime`."""
    body = {
        **claims,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(body, secret, algorithm=ALGORITHM)


def decode_token(secret: str, token: str, audience: str, required: Collection[str], now: datetime) -> VerifiedClaims:
    """The claims of a token signed with `secret` for `audience` that carries `required` and is valid at `now`.

    InvalidToken("missing token" | "token expired" | "invalid token") otherwise.
    """
    if not token:
        raise InvalidToken(MISSING)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=audience,
            options={
                "require": [*required, "exp", "aud"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise InvalidToken(INVALID) from exc
    expires = _instant(claims["exp"])
    if expires is None:
        raise InvalidToken(INVALID)
    if expires <= now:
        raise InvalidToken(EXPIRED)
    for not_before in ("iat", "nbf"):
        if not_before in claims and not _no_later_than(claims[not_before], now):
            raise InvalidToken(INVALID)
    return VerifiedClaims(claims, expires)


def _instant(value: object) -> datetime | None:
    """A numeric date claim as an instant (None if it is not a number)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _no_later_than(value: object, now: datetime) -> bool:
    instant = _instant(value)
    return instant is not None and instant <= now
