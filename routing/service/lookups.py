"""Reads the routing collaborators share: conversations, staff, clients and tickets by id."""

from __future__ import annotations

import time

from routing.errors import NotFound
from routing.models import Client, Conversation, SenderKind, Staff, Ticket
from routing.records import Record

STAFF_CACHE_SECONDS = 30.0
"""How long a staff member read for access checks and assignment is reused."""


class Lookups:
    """Id lookups over the record: the `find_*` methods return None, the others raise NotFound.

    `staff` is cached for STAFF_CACHE_SECONDS (it is read on every request); `find_staff` is not.
    """

    def __init__(self, record: Record) -> None:
        self._record = record
        self._staff_cache: dict[str, tuple[Staff, float]] = {}

    async def conversation(self, conversation_id: str) -> Conversation:
        """The conversation; NotFound if unknown."""
        conversation = await self._record.get_conversation(conversation_id)
        if conversation is None:
            raise NotFound(f"unknown conversation {conversation_id!r}")
        return conversation

    async def find_conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation, or None."""
        return await self._record.get_conversation(conversation_id)

    async def staff(self, staff_id: str) -> Staff:
        """The staff member (cached briefly); NotFound if unknown."""
        cached = self._staff_cache.get(staff_id)
        if cached is not None and time.monotonic() - cached[1] < STAFF_CACHE_SECONDS:
            return cached[0]
        staff = await self._record.get_staff(staff_id)
        if staff is None:
            raise NotFound(f"unknown staff member {staff_id!r}")
        self._staff_cache[staff_id] = (staff, time.monotonic())
        return staff

    async def find_staff(self, staff_id: str | None) -> Staff | None:
        """The staff member as stored now (not cached), or None (also for no id)."""
        return None if staff_id is None else await self._record.get_staff(staff_id)

    async def duty_manager(self, branch: str) -> Staff | None:
        """The branch's duty manager, or None."""
        return await self._record.duty_manager(branch)

    async def client(self, client_id: str) -> Client:
        """The client; NotFound if unknown."""
        client = await self._record.get_client(client_id)
        if client is None:
            raise NotFound(f"unknown client {client_id!r}")
        return client

    async def client_of(self, conversation: Conversation) -> Client:
        """The conversation's client; NotFound if unknown."""
        return await self.client(conversation.client_id)

    async def ticket(self, ticket_id: str | None) -> Ticket | None:
        """The ticket, or None (also for no id)."""
        return None if ticket_id is None else await self._record.get_ticket(ticket_id)

    async def last_client_text(self, conversation_id: str) -> str:
        """What the client wrote last ("" if nothing)."""
        latest = await self._record.latest_messages(conversation_id, limit=1, sender=SenderKind.CLIENT)
        return latest[-1].text if latest else ""
