"""Staff authentication: short-lived signed tokens and the FastAPI dependency that checks them.

HS256 JWT signed with STAFF_TOKEN_SECRET (see `token_secrets`), audience "staff", claims `sub` (the staff id),
`role`, `iat`, `exp` (see `tokens`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from handoff_api.deps import ContainerDep
from handoff_api.settings import Settings
from handoff_api.token_secrets import staff_token_secret
from handoff_api.tokens import InvalidToken, decode_token, issue_token
from routing.models import Staff

AUDIENCE = "staff"

_bearer = HTTPBearer(auto_error=False)

__all__ = ["AUDIENCE", "CurrentStaff", "InvalidToken", "current_staff", "decode_staff_token", "issue_staff_token"]


def issue_staff_token(settings: Settings, staff: Staff, now: datetime) -> str:
    """A token naming the staff member, issued at `now` and valid for STAFF_TOKEN_MINUTES."""
    claims = {"sub": staff.id, "role": staff.role.value}
    lifetime = timedelta(minutes=settings.staff_token_minutes)
    return issue_token(staff_token_secret(settings), AUDIENCE, claims, now, lifetime)


def decode_staff_token(settings: Settings, token: str, now: datetime) -> str:
    """The staff id in a token valid at `now`; InvalidToken (with its reason) otherwise."""
    verified = decode_token(staff_token_secret(settings), token, AUDIENCE, ["sub"], now)
    return str(verified.claims["sub"])


async def current_staff(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff:
    """The authenticated staff member, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        staff_id = decode_staff_token(container.settings, credentials.credentials, container.clock.now())
    except InvalidToken as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.reason, {"WWW-Authenticate": "Bearer"}) from exc
    staff = await container.routing.find_staff(staff_id)
    if staff is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown staff member", {"WWW-Authenticate": "Bearer"})
    return staff


CurrentStaff = Annotated[Staff, Depends(current_staff)]
