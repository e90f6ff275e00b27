"""Staff sign-in: back-off per staff id and per address, the same argon2 work for unknown ids, audit lines.

Before any password is checked, a staff id or address whose failed sign-ins filled a window of
RATE_LIMIT_STAFF_LOGIN_ID / RATE_LIMIT_STAFF_LOGIN_ADDRESS gets 429 with Retry-After (not audited: the
limit also keeps a flood out of the audit log). Each failed check counts against both windows and is
audited as `staff.login_failed` with the typed id masked; a success is audited as `staff.login`.
"""

from __future__ import annotations

import logging

from fastapi import HTTPException, status

from handoff_api.container import Container
from handoff_api.masking import mask_text
from handoff_api.rate_limits import Verdict
from handoff_api.staff.sessions import IssuedSession
from routing.audit import AuditAction

log = logging.getLogger(__name__)

WRONG_CREDENTIALS = "wrong staff id or password"
LOGIN_SUBJECT = "staff-login"


def too_many(verdict: Verdict) -> HTTPException:
    """429 with Retry-After."""
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"too many failed sign-ins; retry after {verdict.retry_after} seconds",
        {"Retry-After": str(verdict.retry_after)},
    )


def limit_key(staff_id: str) -> str:
    """The back-off key of a typed staff id (case and surrounding blanks do not give fresh windows)."""
    return staff_id.strip().lower()


async def check_back_off(container: Container, staff_id: str, address: str) -> None:
    """429 if the id or the address has failed too often lately."""
    limits = container.login_limits
    for limit, key in ((limits.per_address, address), (limits.per_staff, limit_key(staff_id))):
        verdict = await container.rate_limiter.check(limit, key)
        if not verdict.allowed:
            log.warning("staff sign-in refused by back-off (%s)", limit.name)
            raise too_many(verdict)


async def count_failure(container: Container, staff_id: str, address: str, reason: str) -> Verdict:
    """Count one failed check against both windows and audit it; the stricter verdict."""
    limits = container.login_limits
    by_address = await container.rate_limiter.hit(limits.per_address, address)
    by_id = await container.rate_limiter.hit(limits.per_staff, limit_key(staff_id))
    detail: dict[str, object] = {"reason": reason, "address": address}
    await container.routing.audit(mask_text(staff_id), AuditAction.STAFF_LOGIN_FAILED, LOGIN_SUBJECT, detail)
    refused = [verdict for verdict in (by_address, by_id) if not verdict.allowed]
    return max(refused, key=lambda verdict: verdict.retry_after) if refused else by_id


async def sign_in(container: Container, staff_id: str, password: str, address: str) -> IssuedSession:
    """A new session for a correct id and password of an active member; 401, 403 or 429 otherwise."""
    await check_back_off(container, staff_id, address)
    found = await container.routing.login_credentials(staff_id)
    staff, password_hash = found if found else (None, None)
    matches = await container.passwords.verify(password_hash, password)  # an unknown id verifies a dummy hash
    if staff is None or not matches:
        verdict = await count_failure(container, staff_id, address, "wrong_credentials")
        if not verdict.allowed:
            raise too_many(verdict)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, WRONG_CREDENTIALS)
    if not staff.active:
        await count_failure(container, staff_id, address, "disabled")
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this staff account is disabled")
    await container.routing.audit(staff.id, AuditAction.STAFF_LOGIN, f"staff:{staff.id}", {"address": address})
    return await container.sessions.start(staff)
