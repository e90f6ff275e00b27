"""Staff access tokens: HS256 JWTs, audience "staff", claims `sub`, `role`, `ver`, `sid`, `iat`, `exp`.

`ver` is the member's token version when the token was issued, `sid` its session (the refresh-token
family, routing.sessions). Issued and read here; `staff.auth` checks them on each request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff_api.settings import Settings
from handoff_api.token_secrets import staff_token_secret
from handoff_api.tokens import InvalidToken, decode_token, issue_token
from routing.models import Staff

AUDIENCE = "staff"
REVOKED = "token revoked"
DISABLED = "staff member disabled"
UNKNOWN = "unknown staff member"


@dataclass(frozen=True)
class StaffTokenClaims:
    """What a valid staff access token says."""

    staff_id: str
    version: int
    session_id: str
    expires_at: datetime


def issue_staff_token(settings: Settings, staff: Staff, session_id: str, now: datetime) -> str:
    """An access token of `staff` in session `session_id`, issued at `now`, valid for STAFF_TOKEN_MINUTES."""
    claims = {"sub": staff.id, "role": staff.role.value, "ver": staff.token_version, "sid": session_id}
    lifetime = timedelta(minutes=settings.staff_token_minutes)
    return issue_token(staff_token_secret(settings), AUDIENCE, claims, now, lifetime)


def read_staff_token(settings: Settings, token: str, now: datetime) -> StaffTokenClaims:
    """The claims of an access token valid at `now` (signature, audience, expiry); InvalidToken otherwise."""
    verified = decode_token(staff_token_secret(settings), token, AUDIENCE, ["sub", "ver", "sid"], now)
    claims = verified.claims
    version, session = claims["ver"], claims["sid"]
    if not isinstance(version, int) or isinstance(version, bool) or not isinstance(session, str):
        raise InvalidToken("invalid token")
    return StaffTokenClaims(str(claims["sub"]), version, session, verified.expires_at)


def decode_staff_token(settings: Settings, token: str, now: datetime) -> str:
    """The staff id in an access token valid at `now`; InvalidToken (with its reason) otherwise."""
    return read_staff_token(settings, token, now).staff_id


def refusal(staff: Staff | None, claims: StaffTokenClaims) -> str | None:
    """Why a token with valid claims is refused for the member as stored now (None: accepted)."""
    if staff is None:
        return UNKNOWN
    if not staff.active:
        return DISABLED
    if staff.token_version != claims.version:
        return REVOKED
    return None
