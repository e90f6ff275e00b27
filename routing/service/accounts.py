"""Staff accounts: passwords, signing out everywhere, and disabling (their work goes back through the ladder)."""

from __future__ import annotations

from dataclasses import dataclass

from routing.audit import AuditAction
from routing.errors import RoutingError
from routing.models import Conversation, ConversationState, Presence, Staff
from routing.records import Record
from routing.service.assigner import Assigner
from routing.service.attendance import Attendance
from routing.service.journal import Journal
from routing.service.ladder import Ladder
from routing.service.staff import StaffUseCases

S = ConversationState
HELD_STATES = frozenset({S.WITH_AGENT, S.WITH_RESPONDER, S.AWAITING_RESPONDER})


@dataclass(frozen=True)
class Disabled:
    """A disabled member, and what became of the conversations they held."""

    staff: Staff
    requeued: int
    passed_on: int
    kept: int
    """Held conversations nobody else could take (no active rung left): supervisors still see them."""


class Accounts:
    """Account changes that end a member's sessions (the token version is bumped in the record)."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self,
        record: Record,
        journal: Journal,
        attendance: Attendance,
        assigner: Assigner,
        staff: StaffUseCases,
        ladder: Ladder,
    ) -> None:
        self._record = record
        self._assigner = assigner
        self._journal = journal
        self._attendance = attendance
        self._staff = staff
        self._ladder = ladder

    async def change_password(self, staff_id: str, password_hash: str, actor: str) -> int:
        """Store a new password hash and refuse every token issued before; the new token version."""
        await self._journal.set_password_hash(staff_id, password_hash)
        version = await self._journal.bump_token_version(staff_id)
        await self._journal.audit(
            actor, AuditAction.STAFF_PASSWORD_CHANGE, f"staff:{staff_id}", {"token_version": version}
        )
        return version

    async def sign_out_everywhere(self, staff_id: str, actor: str) -> int:
        """Refuse every token issued before now; the new token version."""
        version = await self._journal.bump_token_version(staff_id)
        await self._journal.audit(actor, AuditAction.STAFF_LOGOUT_ALL, f"staff:{staff_id}", {"token_version": version})
        return version

    async def enable(self, staff_id: str, actor: str) -> Staff:
        """Let a disabled member sign in again (tokens from before stay refused)."""
        staff = await self._journal.set_staff_active(staff_id, True)
        await self._journal.audit(actor, AuditAction.STAFF_ENABLE, f"staff:{staff_id}", {})
        return staff

    async def disable(self, staff_id: str, actor: str) -> Disabled:
        """Refuse the member's sign-ins and tokens, take them offline and give their conversations back."""
        staff = await self._journal.set_staff_active(staff_id, False)
        disabled = await self._release(staff, await self._held({staff.id}))
        detail: dict[str, object] = {
            "requeued": disabled.requeued,
            "passed_on": disabled.passed_on,
            "kept": disabled.kept,
        }
        await self._journal.audit(actor, AuditAction.STAFF_DISABLE, f"staff:{staff.id}", detail)
        return disabled

    async def release_disabled(self) -> int:
        """For members disabled elsewhere (the command line): offline, and their conversations given back.

        Run by every tick; one directory read when nobody is disabled. How many conversations moved.
        """
        inactive = {member.id: member for member in await self._record.list_staff() if not member.active}
        if not inactive:
            return 0
        held = await self._held(set(inactive))
        moved = 0
        for member in inactive.values():
            mine = [c for c in held if c.assignee_id == member.id]
            if mine or await self._assigner.is_online(member.id):
                released = await self._release(member, mine)
                moved += released.requeued + released.passed_on
        return moved

    async def _held(self, staff_ids: set[str]) -> list[Conversation]:
        return [c for c in await self._record.conversations_in_states(HELD_STATES) if c.assignee_id in staff_ids]

    async def _release(self, staff: Staff, held: list[Conversation]) -> Disabled:
        """Offline, then tier 2 back to its queue (auto-assigned to whoever is online, else the wait limit
        hands it to tier 3) and tier 3 to the next active rung of the ladder."""
        await self._attendance.set_presence(staff.id, Presence.OFFLINE)  # going offline gives tier 2 back
        still_held = {c.id: c for c in await self._held({staff.id})}
        requeued = passed_on = kept = 0
        for before in held:
            conversation = still_held.get(before.id)
            if conversation is None:  # given back by going offline: to its queue, or to tier 3 with nobody online
                now = await self._record.get_conversation(before.id)
                queued = now is not None and now.state == S.QUEUED
                requeued, passed_on = requeued + queued, passed_on + (not queued)
                continue
            try:
                if conversation.state == S.WITH_AGENT and conversation.queue is not None:
                    await self._staff.transfer_to_queue(staff.id, conversation.id, conversation.queue)
                    requeued += 1
                elif conversation.state != S.WITH_AGENT and await self._ladder.pass_on(conversation):
                    passed_on += 1
                else:
                    kept += 1
            except RoutingError:
                kept += 1  # it moved meanwhile (resolved, claimed): nothing to give back
        return Disabled(staff, requeued, passed_on, kept)
