"""Staff authentication: the FastAPI dependency that checks a staff access token on each request.

Tokens are made and read in `staff.staff_tokens`. A token is accepted while it has not expired, its member
is active, its `ver` is the member's current token version and its session (`sid`) was not logged out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from handoff_api.deps import ContainerDep
from handoff_api.staff.staff_tokens import (
    AUDIENCE,
    DISABLED,
    REVOKED,
    UNKNOWN,
    StaffTokenClaims,
    decode_staff_token,
    issue_staff_token,
    read_staff_token,
    refusal,
)
from handoff_api.tokens import InvalidToken
from routing.models import Staff
from routing.sessions import RefreshTokenStore

_bearer = HTTPBearer(auto_error=False)

__all__ = [
    "AUDIENCE",
    "DISABLED",
    "REVOKED",
    "CurrentSession",
    "CurrentStaff",
    "InvalidToken",
    "StaffSession",
    "StaffTokenClaims",
    "current_session",
    "current_staff",
    "decode_staff_token",
    "issue_staff_token",
    "read_staff_token",
    "session_refusal",
]


@dataclass(frozen=True)
class StaffSession:
    """The authenticated staff member, the session their token belongs to and when the token expires."""

    staff: Staff
    session_id: str
    expires_at: datetime


async def session_refusal(
    staff: Staff | None, claims: StaffTokenClaims, sessions: RefreshTokenStore, now: datetime
) -> str | None:
    """`refusal`, and also "token revoked" when the token's session was logged out."""
    reason = refusal(staff, claims)
    if reason is None and not await sessions.family_live(claims.session_id, now):
        return REVOKED
    return reason


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, {"WWW-Authenticate": "Bearer"})


async def current_session(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffSession:
    """The authenticated staff member and their session, or 401 (missing, expired, revoked, disabled)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token")
    now = container.clock.now()
    try:
        claims = read_staff_token(container.settings, credentials.credentials, now)
    except InvalidToken as exc:
        raise _unauthorized(exc.reason) from exc
    staff = await container.routing.find_staff(claims.staff_id)
    reason = await session_refusal(staff, claims, container.refresh_tokens, now)
    if reason is not None or staff is None:
        raise _unauthorized(reason or UNKNOWN)
    return StaffSession(staff, claims.session_id, claims.expires_at)


CurrentSession = Annotated[StaffSession, Depends(current_session)]


async def current_staff(session: CurrentSession) -> Staff:
    """The authenticated staff member, or 401."""
    return session.staff


CurrentStaff = Annotated[Staff, Depends(current_staff)]
