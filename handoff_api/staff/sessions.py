"""Staff sessions: a sign-in issues a short access token and a sliding refresh token; refresh rotates it.

The refresh token is opaque (routing.sessions); its family is the session, named in the access token's
`sid`. A refresh checks that the member is still active, rotates the refresh token (a reused one revokes
the family, audited) and issues a new access token with the member's current token version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from handoff_api.settings import Settings
from handoff_api.staff.staff_tokens import issue_staff_token
from routing.audit import AuditAction
from routing.models import Staff
from routing.ports import Clock
from routing.service import RoutingService
from routing.sessions import (
    RefreshOutcome,
    RefreshToken,
    RefreshTokenStore,
    hash_refresh_token,
    new_family_id,
    new_refresh_token,
)


class SessionRefused(Exception):
    """A refresh token that is unknown, expired, revoked, reused, or whose member is disabled."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class IssuedSession:
    """A fresh token pair."""

    staff: Staff
    session_id: str
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_in: int


class StaffSessions:
    """Starts, refreshes and ends staff sessions."""

    def __init__(self, settings: Settings, store: RefreshTokenStore, routing: RoutingService, clock: Clock) -> None:
        self._settings = settings
        self._store = store
        self._routing = routing
        self._clock = clock

    @property
    def _refresh_lifetime(self) -> timedelta:
        return timedelta(minutes=self._settings.staff_refresh_minutes)

    def _issue(self, staff: Staff, session_id: str, refresh_token: str, now: datetime) -> IssuedSession:
        return IssuedSession(
            staff=staff,
            session_id=session_id,
            access_token=issue_staff_token(self._settings, staff, session_id, now),
            access_expires_in=self._settings.staff_token_minutes * 60,
            refresh_token=refresh_token,
            refresh_expires_in=int(self._refresh_lifetime.total_seconds()),
        )

    async def start(self, staff: Staff) -> IssuedSession:
        """A new session for a member who just proved who they are."""
        now = self._clock.now()
        token, family = new_refresh_token(), new_family_id()
        await self._store.add(
            RefreshToken(hash_refresh_token(token), staff.id, family, now, now + self._refresh_lifetime)
        )
        return self._issue(staff, family, token, now)

    async def refresh(self, refresh_token: str) -> IssuedSession:
        """Rotate a refresh token into a new pair (its lifetime starts again); SessionRefused otherwise."""
        now = self._clock.now()
        successor = new_refresh_token()
        rotation = await self._store.rotate(
            hash_refresh_token(refresh_token), hash_refresh_token(successor), now + self._refresh_lifetime, now
        )
        if rotation.outcome == RefreshOutcome.REUSED and rotation.staff_id:
            detail: dict[str, object] = {"session": rotation.family_id}
            await self._routing.audit(
                rotation.staff_id, AuditAction.STAFF_REFRESH_REUSED, f"staff:{rotation.staff_id}", detail
            )
        if rotation.outcome != RefreshOutcome.ROTATED or rotation.staff_id is None or rotation.family_id is None:
            raise SessionRefused(f"refresh token {rotation.outcome.value}")
        staff = await self._routing.find_staff(rotation.staff_id)
        if staff is None or not staff.active:
            await self._store.revoke_family(rotation.family_id, now)
            raise SessionRefused("staff member disabled")
        return self._issue(staff, rotation.family_id, successor, now)

    async def end(self, staff: Staff, session_id: str) -> None:
        """Logout: the session's refresh tokens are revoked, and with them its access tokens."""
        await self._store.revoke_family(session_id, self._clock.now())
        await self._routing.audit(staff.id, AuditAction.STAFF_LOGOUT, f"staff:{staff.id}", {"session": session_id})

    async def end_all(self, staff_id: str, actor: str) -> None:
        """Logout everywhere (also after a password change or disabling): every session and token revoked."""
        await self._routing.accounts.sign_out_everywhere(staff_id, actor)
        await self._store.revoke_staff(staff_id, self._clock.now())

    async def revoke_all(self, staff_id: str) -> None:
        """Revoke every refresh token of a member whose token version was bumped already."""
        await self._store.revoke_staff(staff_id, self._clock.now())
