"""Staff authentication: short-lived signed tokens and the FastAPI dependency that checks them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import jwt
from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from handoff_api.deps import ContainerDep
from handoff_api.settings import Settings
from routing.models import Staff

ALGORITHM = "HS256"
AUDIENCE = "staff"

_bearer = HTTPBearer(auto_error=False)


class InvalidToken(Exception):
    """A token that is malformed, forged, expired or meant for someone else."""


def issue_staff_token(settings: Settings, staff: Staff, now: datetime | None = None) -> str:
    """A signed token naming the staff member, valid for STAFF_TOKEN_MINUTES."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": staff.id,
        "role": staff.role.value,
        "aud": AUDIENCE,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=settings.staff_token_minutes)).timestamp()),
    }
    return jwt.encode(claims, settings.secret_key.get_secret_value(), algorithm=ALGORITHM)


def decode_staff_token(settings: Settings, token: str) -> str:
    """The staff id in a valid token; InvalidToken otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("invalid token") from exc
    return str(claims["sub"])


async def current_staff(
    container: ContainerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff:
    """The authenticated staff member, or 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing bearer token", {"WWW-Authenticate": "Bearer"})
    try:
        staff_id = decode_staff_token(container.settings, credentials.credentials)
    except InvalidToken as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc), {"WWW-Authenticate": "Bearer"}) from exc
    staff = await container.routing.find_staff(staff_id)
    if staff is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown staff member", {"WWW-Authenticate": "Bearer"})
    return staff


CurrentStaff = Annotated[Staff, Depends(current_staff)]
