"""Client tokens: the client app's backend signs a short-lived token naming one client; the widget presents it.

HS256 JWT signed with SECRET_KEY, audience "client", claims `client_id`, `iat`, `exp`. A client app can
produce the same token in any language from the shared secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from handoff_api.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "client"
MAX_CLIENT_ID_CHARS = 64


class InvalidClientToken(Exception):
    """A client token that is malformed, forged, expired or meant for another audience."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ClientIdentity:
    """Who a valid client token names, and until when it is valid."""

    client_id: str
    expires_at: datetime


def issue_client_token(
    settings: Settings,
    client_id: str,
    now: datetime | None = None,
    minutes: int | None = None,
    *,
    lifetime: timedelta | None = None,
) -> str:
    """A signed token for `client_id`, valid for `lifetime`, else `minutes`, else CLIENT_TOKEN_MINUTES."""
    if not client_id or len(client_id) > MAX_CLIENT_ID_CHARS:
        raise ValueError(f"client_id must be 1..{MAX_CLIENT_ID_CHARS} characters")
    issued = now or datetime.now(UTC)
    if lifetime is None:
        lifetime = timedelta(minutes=minutes if minutes is not None else settings.client_token_minutes)
    claims = {
        "client_id": client_id,
        "aud": AUDIENCE,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


def decode_client_token(settings: Settings, token: str) -> str:
    """The client id of a valid token; InvalidClientToken("token expired" | "invalid token") otherwise."""
    return read_client_token(settings, token).client_id


def read_client_token(settings: Settings, token: str) -> ClientIdentity:
    """The client id and expiry of a valid token; InvalidClientToken("token expired" | "invalid token") otherwise."""
    if not token:
        raise InvalidClientToken("missing token")
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["client_id", "exp", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidClientToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidClientToken("invalid token") from exc
    client_id = claims["client_id"]
    if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_CLIENT_ID_CHARS:
        raise InvalidClientToken("invalid token")
    expires = claims["exp"]
    if not isinstance(expires, int | float) or isinstance(expires, bool):
        raise InvalidClientToken("invalid token")
    return ClientIdentity(client_id, datetime.fromtimestamp(expires, UTC))
