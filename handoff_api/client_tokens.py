"""Client tokens: the client app's backend signs a short-lived token naming one client; the widget presents it.

HS256 JWT signed with CLIENT_TOKEN_SECRET (in development derived from SECRET_KEY: see `token_secrets`),
audience "client", claims `client_id`, `iat`, `exp` (see `tokens`). A client app can produce the same token in
any language from the shared secret. A token whose lifetime (`exp` - `iat`) exceeds CLIENT_TOKEN_MAX_MINUTES
is refused, so a leaked token is only ever good for a bounded time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff_api.settings import Settings
from handoff_api.token_secrets import client_token_secret
from handoff_api.tokens import INVALID, InvalidToken, decode_token, issue_token

AUDIENCE = "client"
MAX_CLIENT_ID_CHARS = 64
TOO_LONG = "token lifetime exceeds CLIENT_TOKEN_MAX_MINUTES"

InvalidClientToken = InvalidToken
"""A client token that is missing, malformed, forged, expired, too long-lived or meant for another audience."""


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
    if lifetime > max_lifetime(settings):
        raise ValueError(f"a client token may live at most {settings.client_token_max_minutes} minutes")
    return issue_token(client_token_secret(settings), AUDIENCE, {"client_id": client_id}, now, lifetime)


def decode_client_token(settings: Settings, token: str, now: datetime) -> str:
    """The client id of a token valid at `now`; InvalidClientToken (with its reason) otherwise."""
    return read_client_token(settings, token, now).client_id


def read_client_token(settings: Settings, token: str, now: datetime) -> ClientIdentity:
    """The client id and expiry of a token valid at `now`; InvalidClientToken (with its reason) otherwise."""
    verified = decode_token(client_token_secret(settings), token, AUDIENCE, ["client_id", "iat"], now)
    client_id = verified.claims["client_id"]
    if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_CLIENT_ID_CHARS:
        raise InvalidClientToken(INVALID)
    issued = verified.claims["iat"]
    if not isinstance(issued, int | float) or isinstance(issued, bool):
        raise InvalidClientToken(INVALID)
    if verified.expires_at.timestamp() - issued > max_lifetime(settings).total_seconds():
        raise InvalidClientToken(TOO_LONG)
    return ClientIdentity(client_id, verified.expires_at)


def max_lifetime(settings: Settings) -> timedelta:
    """The longest lifetime a client token may have."""
    return timedelta(minutes=settings.client_token_max_minutes)
