"""Canned-reply use cases: the replies a staff member is offered, rendered for a conversation; supervisors' edits.

Reading is for every staff member (their teams' replies and `all`); rendering a reply for a conversation
needs the right to view it. Adding, changing and removing are for supervisors and are audited.
"""

from __future__ import annotations

import uuid
from datetime import tzinfo

from routing import canned
from routing.audit import AuditAction
from routing.canned import CannedDraft, CannedReply, CannedReplyStore
from routing.errors import NotFound
from routing.ports import Clock
from routing.service import access
from routing.service.journal import Journal
from routing.service.lookups import Lookups


class CannedReplies:
    """The console's canned replies."""

    def __init__(self, store: CannedReplyStore, lookups: Lookups, journal: Journal, clock: Clock, zone: tzinfo) -> None:
        self._store = store
        self._lookups = lookups
        self._journal = journal
        self._clock = clock
        self._zone = zone

    async def offered(self, staff_id: str, conversation_id: str | None = None) -> list[CannedReply]:
        """The staff member's teams' replies and `all`; with a conversation, their text rendered for it."""
        staff = await self._lookups.staff(staff_id)
        replies = await self._store.list_replies(canned.teams_of(staff))
        if conversation_id is None:
            return replies
        conversation = await self._lookups.conversation(conversation_id)
        client = await self._lookups.client_of(conversation)
        access.check_can_view(staff, conversation, client)
        today = self._clock.now().astimezone(self._zone).date()
        return [_with_text(r, canned.render(r.text, client.name, staff.name, today)) for r in replies]

    async def all_replies(self, staff_id: str) -> list[CannedReply]:
        """Every team's replies, for a supervisor's management view."""
        access.check_may_manage_canned(await self._lookups.staff(staff_id))
        return await self._store.list_replies()

    async def create(self, staff_id: str, draft: CannedDraft) -> CannedReply:
        """Add a reply (Forbidden unless a supervisor; ValidationFailed on a bad draft)."""
        access.check_may_manage_canned(await self._lookups.staff(staff_id))
        checked = canned.check_draft(draft)
        reply = CannedReply(uuid.uuid4().hex, checked.team, checked.title, checked.text, staff_id, self._clock.now())
        await self._store.save_reply(reply)
        await self._audit(staff_id, AuditAction.CANNED_REPLY_CREATED, reply)
        return reply

    async def update(self, staff_id: str, reply_id: str, draft: CannedDraft) -> CannedReply:
        """Change a reply (NotFound, Forbidden, ValidationFailed)."""
        access.check_may_manage_canned(await self._lookups.staff(staff_id))
        checked = canned.check_draft(draft)
        await self._existing(reply_id)
        reply = CannedReply(reply_id, checked.team, checked.title, checked.text, staff_id, self._clock.now())
        await self._store.save_reply(reply)
        await self._audit(staff_id, AuditAction.CANNED_REPLY_UPDATED, reply)
        return reply

    async def delete(self, staff_id: str, reply_id: str) -> None:
        """Remove a reply (NotFound, Forbidden)."""
        access.check_may_manage_canned(await self._lookups.staff(staff_id))
        reply = await self._existing(reply_id)
        await self._store.delete_reply(reply_id)
        await self._audit(staff_id, AuditAction.CANNED_REPLY_DELETED, reply)

    async def _existing(self, reply_id: str) -> CannedReply:
        reply = await self._store.get_reply(reply_id)
        if reply is None:
            raise NotFound(f"unknown canned reply {reply_id!r}")
        return reply

    async def _audit(self, staff_id: str, action: AuditAction, reply: CannedReply) -> None:
        await self._journal.audit(staff_id, action, f"canned_reply:{reply.id}", {"team": reply.team.value})


def _with_text(reply: CannedReply, text: str) -> CannedReply:
    return CannedReply(reply.id, reply.team, reply.title, text, reply.updated_by, reply.updated_at)
