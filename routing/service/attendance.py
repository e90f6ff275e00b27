"""The staff's attendance: signing in, presence (online / away / offline) and its heartbeat."""

from __future__ import annotations

from routing.events import PresenceChanged
from routing.models import Presence, Staff
from routing.ports import PresenceStore
from routing.records import Record
from routing.service import access
from routing.service.assigner import Assigner
from routing.service.departures import Departures
from routing.service.journal import Journal
from routing.service.lookups import Lookups


class Attendance:
    """Who is at work: credentials to sign in, presence that lapses without a heartbeat."""

    def __init__(  # noqa: PLR0917 - the collaborators it coordinates
        self,
        record: Record,
        lookups: Lookups,
        journal: Journal,
        assigner: Assigner,
        presence: PresenceStore,
        presence_ttl_seconds: float,
        departures: Departures,
    ) -> None:
        self._record = record
        self._lookups = lookups
        self._journal = journal
        self._assigner = assigner
        self._presence = presence
        self._ttl = presence_ttl_seconds
        self._departures = departures

    async def login_credentials(self, staff_id: str) -> tuple[Staff, str | None] | None:
        """The staff member and their stored password hash, or None for an unknown id."""
        staff = await self._record.get_staff(staff_id)
        if staff is None:
            return None
        return staff, await self._record.get_password_hash(staff.id)

    async def set_presence(self, staff_id: str, presence: Presence) -> None:
        """Online / away / offline; going online pulls waiting work, going offline gives one's conversations back."""
        staff = await self._lookups.staff(staff_id)
        skills = staff.skills if access.in_tier2_role(staff) else frozenset()
        await self._presence.set_presence(staff.id, skills, presence, self._ttl)
        await self._journal.audit(staff.id, "presence", staff.id, {"presence": presence.value})
        await self._journal.publish(PresenceChanged(staff.id, presence.value))
        if presence == Presence.ONLINE:
            await self._assigner.fill(skills)
        elif presence == Presence.OFFLINE and skills:
            await self._departures.give_back(staff.id, "went offline")

    async def present_for_claim(self, staff_id: str) -> None:
        """Claiming is being at work: an offline claimant becomes away (present, nothing auto-assigned).

        Without it the next sweep would give the claimed conversation back, as offline holders' work is.
        """
        if await self._presence.presence(staff_id) == Presence.OFFLINE:
            await self.set_presence(staff_id, Presence.AWAY)  # an unknown id is refused there, as by the claim

    async def heartbeat(self, staff_id: str) -> bool:
        """Keep presence alive; False if it already lapsed (the console should set it again)."""
        staff = await self._lookups.staff(staff_id)
        return await self._presence.heartbeat(staff.id, self._ttl)
