"""`python -m routing disable-staff ID` / `enable-staff ID`: the account switch, from the command line.

Disabling refuses the member's sign-ins and every token of theirs at once (the token version is bumped
and their refresh tokens revoked); the running API takes them offline and gives their conversations back
through the ladder on its next tick (RoutingService.tick), and their console closes within seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

from routing.audit import AuditAction
from routing.errors import NotFound
from routing.sql_record import SqlRecord
from routing.sql_sessions import SqlRefreshTokenStore


async def switch_staff(record: SqlRecord, staff_id: str, active: bool, actor: str = "cli") -> str:
    """Enable or disable a member; what was done, for the operator. NotFound for an unknown id."""
    member = await record.get_staff(staff_id)
    if member is None:
        raise NotFound(f"unknown staff member {staff_id!r}")
    word = "enabled" if active else "disabled"
    if member.active == active:
        return f"{staff_id} is already {word}; nothing changed"
    now = datetime.now(UTC)
    await record.set_staff_active(staff_id, active)
    if active:
        await record.audit(actor, AuditAction.STAFF_ENABLE, f"staff:{staff_id}", {}, now)
        return f"{staff_id} enabled: they may sign in again"
    revoked = await SqlRefreshTokenStore(record.engine).revoke_staff(staff_id, now)
    await record.audit(actor, AuditAction.STAFF_DISABLE, f"staff:{staff_id}", {"sessions_revoked": revoked}, now)
    return (
        f"{staff_id} disabled: sign-ins and tokens refused, {revoked} refresh tokens revoked; "
        "the API gives their conversations back on its next tick"
    )
