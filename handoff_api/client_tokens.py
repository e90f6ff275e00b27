"""Client tokens: the client app's backend signs a short-lived token naming one client; the widget presents it.

HS256 JWT signed with SECRET_KEY, audience "client", claims `client_id`, `iat`, `exp` (see `tokens`). A
client app can produce the same token in any language from the shared secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff_api.settings import Settings
from handoff_api.tokens import INVALID, InvalidToken, decode_token, issue_token

AUDIENCE = "client"
MAX_CLIENT_ID_CHARS = 64

InvalidClientToken = InvalidToken
"""A client token that is missing, malformed, forged, expired or meant for another audience."""


@dataclass(frozen=True)
class ClientIdentity:
    """Who a valid client token names, and until when it is valid."""

    client_id: str
    expires_at: datetime


def issue_client_token(
    settings: Settings,
    client_id: str,
    now: datetime,
    minutes: int | None = None,
    *,
    lifetime: timedelta | None = None,
) -> str:
    """A token for `client_id` issued at `now`, valid for `lifetime`, else `minutes`, else CLIENT_TOKEN_MINUTES."""
    if not client_id or len(client_id) > MAX_CLIENT_ID_CHARS:
        raise ValueError(f"client_id must be 1..{MAX_CLIENT_ID_CHARS} characters")
    if lifetime is None:
        lifetime = timedelta(minutes=minutes if minutes is not None else settings.client_token_minutes)
    return issue_token(settings.secret_key.get_secret_value(), AUDIENCE, {"client_id": client_id}, now, lifetime)


def decode_client_token(settings: Settings, token: str, now: datetime) -> str:
    """The client id of a token valid at `now`; InvalidClientToken (with its reason) otherwise."""
    return read_client_token(settings, token, now).client_id


def read_client_token(settings: Settings, token: str, now: datetime) -> ClientIdentity:
    """The client id and expiry of a token valid at `now`; InvalidClientToken (with its reason) otherwise."""
    verified = decode_token(settings.secret_key.get_secret_value(), token, AUDIENCE, ["client_id"], now)
    client_id = verified.claims["client_id"]
    if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_CLIENT_ID_CHARS:
        raise InvalidClientToken(INVALID)
    return ClientIdentity(client_id, verified.expires_at)
