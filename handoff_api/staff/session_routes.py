"""Staff sessions over HTTP: sign-in, refresh, logout (one or every session), password change, and the
admin's disable / enable of a member. Under /api/v1/staff, next to the console's routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, status

from handoff_api.deps import ContainerDep
from handoff_api.errors import error_responses
from handoff_api.staff.auth import CurrentSession
from handoff_api.staff.login import WRONG_CREDENTIALS, check_back_off, count_failure, sign_in, too_many
from handoff_api.staff.passwords import MIN_NEW_PASSWORD_LENGTH
from handoff_api.staff.schemas import (
    DisabledOut,
    Login,
    MemberOut,
    PasswordChange,
    RefreshIn,
    SessionTokens,
    StaffOut,
)
from handoff_api.staff.sessions import IssuedSession, SessionRefused
from routing.models import Role
from routing.passwords import WeakPassword, check_password_rules

MemberId = Annotated[str, Path(min_length=1, max_length=64)]

router = APIRouter(
    prefix="/api/v1/staff", tags=["staff"], responses=error_responses(400, 401, 403, 404, 409, 413, 422, 429)
)


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _tokens(issued: IssuedSession) -> SessionTokens:
    return SessionTokens(
        access_token=issued.access_token,
        expires_in=issued.access_expires_in,
        refresh_token=issued.refresh_token,
        refresh_expires_in=issued.refresh_expires_in,
        staff=StaffOut.of(issued.staff),
    )


@router.post("/login")
async def login(body: Login, request: Request, container: ContainerDep) -> SessionTokens:
    """Exchange a staff id and password for a short access token and a refresh token."""
    return _tokens(await sign_in(container, body.staff_id, body.password, _address(request)))


@router.post("/token/refresh")
async def refresh(body: RefreshIn, request: Request, container: ContainerDep) -> SessionTokens:
    """Rotate the refresh token into a new pair; a refresh token used twice ends its session (401)."""
    address = _address(request)
    limit = container.login_limits.per_address
    blocked = await container.rate_limiter.check(limit, address)
    if not blocked.allowed:
        raise too_many(blocked)
    try:
        issued = await container.sessions.refresh(body.refresh_token)
    except SessionRefused as exc:
        await container.rate_limiter.hit(limit, address)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, exc.reason) from exc
    return _tokens(issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(session: CurrentSession, container: ContainerDep) -> None:
    """End this session: its refresh token and access tokens are refused from now on."""
    await container.sessions.end(session.staff, session.session_id)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT)
async def logout_all(session: CurrentSession, container: ContainerDep) -> None:
    """End every session of the signed-in member (every device, every console tab)."""
    await container.sessions.end_all(session.staff.id, session.staff.id)


@router.post("/password")
async def change_password(
    body: PasswordChange, session: CurrentSession, request: Request, container: ContainerDep
) -> SessionTokens:
    """Change one's password (the current one, then a new one of at least 10 characters).

    Every earlier token and session is refused; the answer is a new session for this console.
    """
    staff, address = session.staff, _address(request)
    await check_back_off(container, staff.id, address)
    _, stored = await container.routing.login_credentials(staff.id) or (staff, None)
    if not await container.passwords.verify(stored, body.old_password):
        verdict = await count_failure(container, staff.id, address, "wrong_password")
        if not verdict.allowed:
            raise too_many(verdict)
        raise HTTPException(status.HTTP_403_FORBIDDEN, WRONG_CREDENTIALS)
    new = body.new_password
    try:
        if len(new) < MIN_NEW_PASSWORD_LENGTH:
            raise WeakPassword(f"password must have at least {MIN_NEW_PASSWORD_LENGTH} characters")
        check_password_rules(new)
    except WeakPassword as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    if new == body.old_password:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the new password must differ from the old one")
    await container.routing.accounts.change_password(staff.id, await container.passwords.hash(new), staff.id)
    await container.sessions.revoke_all(staff.id)
    renewed = await container.routing.find_staff(staff.id)
    if renewed is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown staff member")
    return _tokens(await container.sessions.start(renewed))


def _check_admin(session: CurrentSession, staff_id: str) -> None:
    if session.staff.role != Role.ADMIN:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins enable or disable staff members")
    if staff_id == session.staff.id:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "an admin cannot disable or enable themselves")


@router.post("/members/{staff_id}/disable")
async def disable_member(staff_id: MemberId, session: CurrentSession, container: ContainerDep) -> DisabledOut:
    """Admin: the member cannot sign in, their tokens stop working, their conversations are given back."""
    _check_admin(session, staff_id)
    disabled = await container.routing.accounts.disable(staff_id, session.staff.id)
    await container.sessions.revoke_all(staff_id)
    return DisabledOut(
        staff_id=staff_id,
        active=disabled.staff.active,
        requeued=disabled.requeued,
        passed_on=disabled.passed_on,
        kept=disabled.kept,
    )


@router.post("/members/{staff_id}/enable")
async def enable_member(staff_id: MemberId, session: CurrentSession, container: ContainerDep) -> MemberOut:
    """Admin: a disabled member may sign in again."""
    _check_admin(session, staff_id)
    staff = await container.routing.accounts.enable(staff_id, session.staff.id)
    return MemberOut(staff_id=staff.id, active=staff.active)
