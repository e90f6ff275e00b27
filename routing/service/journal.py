"""The journal: the one place that changes the record and tells the channels.

Every move of a conversation is a state-machine transition saved compare-and-set and audited;
messages, tickets, feedback and audit entries are written here, and every event is published from
here. The other collaborators read the record freely but write only through the journal.
"""

from __future__ import annotations

import dataclasses

from routing.audit import AuditAction
from routing.events import AgentJoined, MessageAdded, RoutingEvent
from routing.models import (
    LIVE_TICKET_STATUSES,
    Conversation,
    EscalationReason,
    Message,
    QueueName,
    SenderKind,
    ServedBy,
    Staff,
    Ticket,
    TicketStatus,
)
from routing.ports import Clock, EventBus
from routing.records import Record, SatisfactionRating, StateGuard
from routing.state_machine import KEEP, Keep, TransitionName, apply

SYSTEM_ACTOR = "system"
"""The actor of automatic moves (assignment, wait limit, the ladder)."""
CLIENT_ACTOR = "client"
"""The actor of the client's own moves."""


class Journal:
    """Recorded moves, messages, tickets, feedback, audit and events."""

    def __init__(self, record: Record, events: EventBus, clock: Clock) -> None:
        self._record = record
        self._events = events
        self._clock = clock

    async def move(
        self,
        before: Conversation,
        name: TransitionName,
        actor: str,
        reason: str,
        *,
        queue: QueueName | Keep | None = KEEP,
        assignee_id: str | Keep | None = KEEP,
        ticket_id: str | Keep | None = KEEP,
        escalation_reason: EscalationReason | Keep | None = KEEP,
    ) -> Conversation:
        """Apply one transition, save it compare-and-set (StaleConversation if `before` is outdated), audit it."""
        now = self._clock.now()
        after, transition = apply(
            before,
            name,
            actor,
            reason,
            now,
            queue=queue,
            assignee_id=assignee_id,
            ticket_id=ticket_id,
            escalation_reason=escalation_reason,
        )
        await self._record.save_transition(before, after, transition)
        detail: dict[str, object] = {
            "from": before.state.value,
            "to": after.state.value,
            "tier": int(after.tier),
            "reason": reason,
            "assignee_id": after.assignee_id,
            "queue": after.queue.value if after.queue else None,
        }
        await self._record.audit(actor, f"transition.{name.value}", before.id, detail, now)
        return after

    async def open_conversation(
        self, conversation: Conversation, actor: str = CLIENT_ACTOR
    ) -> tuple[Conversation, bool]:
        """Store a new conversation unless its client has an open one on the channel; audit a start.

        Returns the client's open conversation on the channel and whether it is `conversation`, just stored.
        """
        opened, created = await self._record.open_conversation(conversation)
        if created:
            detail: dict[str, object] = {"client_id": conversation.client_id, "channel": conversation.channel.value}
            await self.audit(actor, "conversation.start", conversation.id, detail)
        return opened, created

    async def append(
        self,
        conversation_id: str,
        sender: SenderKind,
        text: str,
        payload: dict[str, object] | None = None,
        served_by: ServedBy | None = None,
        *,
        client_msg_id: str | None = None,
        only_in: StateGuard | None = None,
    ) -> Message:
        """Append a message to the transcript and publish it (DuplicateClientMessage for a resent one).

        With `only_in`, IllegalTransition unless the conversation is in one of its states as the message is stored.
        """
        message = await self._record.append_message(
            conversation_id,
            sender,
            text,
            payload or {},
            served_by,
            self._clock.now(),
            client_msg_id=client_msg_id,
            only_in=only_in,
        )
        await self.publish(
            MessageAdded(
                conversation_id=conversation_id,
                message_id=message.id,
                seq=message.seq,
                sender=sender.value,
                text=text,
                payload=message.payload,
                served_tier=int(served_by.tier) if served_by else None,
                staff_id=served_by.staff_id if served_by else None,
                at=message.created_at.isoformat(),
            )
        )
        return message

    async def tell_client(self, conversation_id: str, text: str, **payload: object) -> Message:
        """A system message to the client (its payload's "type" tells the widget what it means)."""
        return await self.append(conversation_id, SenderKind.SYSTEM, text, dict(payload))

    async def publish(self, event: RoutingEvent) -> None:
        """Tell the channels."""
        await self._events.publish(event)

    async def announce_joined(self, conversation: Conversation, staff: Staff) -> None:
        """Publish that `staff` now serves the conversation."""
        await self.publish(
            AgentJoined(
                conversation_id=conversation.id,
                staff_id=staff.id,
                staff_name=staff.name,
                tier=int(conversation.tier),
                practice_number=staff.practice_number,
            )
        )

    async def audit(self, actor: str, action: str, subject: str, detail: dict[str, object]) -> None:
        """Append an audit entry stamped now."""
        await self._record.audit(actor, action, subject, detail, self._clock.now())

    async def record_rating(self, rating: SatisfactionRating) -> None:
        """Store the client's 1–5 rating (AlreadyRated for a second one of the same resolution) and audit it."""
        await self._record.add_rating(rating)
        detail: dict[str, object] = {"score": rating.score, "tier": int(rating.tier), "staff_id": rating.staff_id}
        await self._record.audit(CLIENT_ACTOR, AuditAction.RATING, rating.conversation_id, detail, rating.at)

    async def set_password_hash(self, staff_id: str, password_hash: str) -> None:
        """Store a staff member's new password hash."""
        await self._record.set_password_hash(staff_id, password_hash)

    async def bump_token_version(self, staff_id: str) -> int:
        """Refuse every token of the staff member issued before now; the new version."""
        return await self._record.bump_token_version(staff_id)

    async def set_staff_active(self, staff_id: str, active: bool) -> Staff:
        """Enable or disable a staff member (disabling bumps their token version)."""
        return await self._record.set_staff_active(staff_id, active)

    async def open_ticket(self, ticket: Ticket) -> None:
        """Store a new ticket."""
        await self._record.open_ticket(ticket)

    async def save_ticket(self, ticket: Ticket) -> None:
        """Overwrite a stored ticket."""
        await self._record.update_ticket(ticket)

    async def patch_ticket(self, ticket_id: str | None, **changes: object) -> None:
        """Change some fields of a ticket, if there is one."""
        ticket = None if ticket_id is None else await self._record.get_ticket(ticket_id)
        if ticket is not None:
            await self.save_ticket(dataclasses.replace(ticket, **changes))  # type: ignore[arg-type]

    async def retire_ticket(self, ticket: Ticket | None, status: TicketStatus) -> None:
        """Give a still-live ticket its final `status` (escalated, closed); leave a finished one as it is."""
        if ticket is not None and ticket.status in LIVE_TICKET_STATUSES:
            await self.save_ticket(dataclasses.replace(ticket, status=status))

    async def record_feedback(self, conversation: Conversation, resolved: bool, actor: str = CLIENT_ACTOR) -> None:
        """Store 问题已解答 / 问题未解答 against whoever serves now, and audit it."""
        now = self._clock.now()
        await self._record.add_feedback(
            conversation.id, conversation.ticket_id, conversation.tier, conversation.assignee_id, resolved, now
        )
        await self._record.audit(actor, "feedback", conversation.id, {"resolved": resolved}, now)
