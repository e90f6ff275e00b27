"""Row mappers of the system of record: routing's models to SQL rows (dicts) and back.

Pure translation, no queries: `<model>_to_row` gives the values to insert or update,
`<model>_from_row` builds the model from a fetched row. routing.sql_record uses them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Row

from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
    QueueName,
    ResponderStep,
    Role,
    SenderKind,
    ServedBy,
    Staff,
    Ticket,
    TicketStatus,
    Tier,
    Transition,
)

SKILL_SEPARATOR = "|"


def skills_to_text(skills: Iterable[QueueName]) -> str:
    """Skills as stored: queue names joined by "|", sorted."""
    return SKILL_SEPARATOR.join(sorted(skill.value for skill in skills))


def skills_from_text(text: str) -> frozenset[QueueName]:
    """Skills from their stored text."""
    return frozenset(QueueName(part) for part in text.split(SKILL_SEPARATOR) if part)


def client_to_row(client: Client) -> dict[str, Any]:
    """The clients row of a client."""
    return {
        "id": client.id,
        "name": client.name,
        "tier": client.tier,
        "vip": client.vip,
        "branch": client.branch,
        "responder_id": client.responder_id,
        "wecom_id": client.wecom_id,
    }


def client_from_row(row: Row[Any]) -> Client:
    """A client from its row."""
    return Client(
        id=row.id,
        name=row.name,
        tier=row.tier,
        vip=bool(row.vip),
        branch=row.branch,
        responder_id=row.responder_id,
        wecom_id=row.wecom_id,
    )


def staff_to_row(member: Staff) -> dict[str, Any]:
    """The staff row of a staff member (the password hash and the token version are the record's own)."""
    return {
        "id": member.id,
        "name": member.name,
        "role": member.role.value,
        "skills": skills_to_text(member.skills),
        "max_concurrency": member.max_concurrency,
        "branch": member.branch,
        "practice_number": member.practice_number,
        "backup_id": member.backup_id,
        "wecom_user_id": member.wecom_user_id,
        "active": member.active,
    }


def staff_from_row(row: Row[Any]) -> Staff:
    """A staff member from their row."""
    return Staff(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        skills=skills_from_text(row.skills),
        max_concurrency=row.max_concurrency,
        branch=row.branch,
        practice_number=row.practice_number,
        backup_id=row.backup_id,
        wecom_user_id=row.wecom_user_id,
        active=bool(row.active),
        token_version=int(row.token_version),
    )


def conversation_to_row(conversation: Conversation) -> dict[str, Any]:
    """The conversations row of a conversation."""
    return {
        "id": conversation.id,
        "client_id": conversation.client_id,
        "channel": conversation.channel.value,
        "state": conversation.state.value,
        "tier": int(conversation.tier),
        "queue": conversation.queue.value if conversation.queue else None,
        "assignee_id": conversation.assignee_id,
        "ticket_id": conversation.ticket_id,
        "escalation_reason": conversation.escalation_reason.value if conversation.escalation_reason else None,
        "version": conversation.version,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
    }


def conversation_from_row(row: Row[Any]) -> Conversation:
    """A conversation from its row."""
    return Conversation(
        id=row.id,
        client_id=row.client_id,
        channel=Channel(row.channel),
        state=ConversationState(row.state),
        tier=Tier(row.tier),
        created_at=row.created_at,
        updated_at=row.updated_at,
        queue=QueueName(row.queue) if row.queue else None,
        assignee_id=row.assignee_id,
        ticket_id=row.ticket_id,
        escalation_reason=EscalationReason(row.escalation_reason) if row.escalation_reason else None,
        version=row.version,
    )


def message_from_row(row: Row[Any]) -> Message:
    """A message from its row (with who served, when recorded)."""
    served_by = None
    if row.served_tier is not None:
        served_by = ServedBy(tier=Tier(row.served_tier), staff_id=row.served_staff_id, at=row.served_at)
    return Message(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        sender=SenderKind(row.sender),
        text=row.text,
        created_at=row.created_at,
        payload=dict(row.payload),
        served_by=served_by,
        client_msg_id=row.client_msg_id,
    )


def message_to_row(message: Message) -> dict[str, Any]:
    """The messages row of a message."""
    served_by = message.served_by
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "seq": message.seq,
        "sender": message.sender.value,
        "text": message.text,
        "payload": message.payload,
        "served_tier": int(served_by.tier) if served_by else None,
        "served_staff_id": served_by.staff_id if served_by else None,
        "served_at": served_by.at if served_by else None,
        "created_at": message.created_at,
        "client_msg_id": message.client_msg_id,
    }


def transition_to_row(transition: Transition) -> dict[str, Any]:
    """The transitions row of a transition."""
    return {
        "conversation_id": transition.conversation_id,
        "name": transition.name,
        "from_state": transition.from_state.value,
        "to_state": transition.to_state.value,
        "actor": transition.actor,
        "tier": int(transition.tier),
        "reason": transition.reason,
        "at": transition.at,
    }


def transition_from_row(row: Row[Any]) -> Transition:
    """A transition from its row."""
    return Transition(
        conversation_id=row.conversation_id,
        name=row.name,
        from_state=ConversationState(row.from_state),
        to_state=ConversationState(row.to_state),
        actor=row.actor,
        tier=Tier(row.tier),
        reason=row.reason,
        at=row.at,
    )


def ticket_to_row(ticket: Ticket) -> dict[str, Any]:
    """The tickets row of a ticket."""
    return {
        "id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "client_id": ticket.client_id,
        "queue": ticket.queue.value if ticket.queue else None,
        "priority": ticket.priority,
        "vip": ticket.vip,
        "tier": int(ticket.tier),
        "reason": ticket.reason.value,
        "question": ticket.question,
        "status": ticket.status.value,
        "enqueued_at": ticket.enqueued_at,
        "assigned_to": ticket.assigned_to,
        "assigned_at": ticket.assigned_at,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "responder_step": int(ticket.responder_step) if ticket.responder_step is not None else None,
        "responder_deadline": ticket.responder_deadline,
    }


def ticket_from_row(row: Row[Any]) -> Ticket:
    """A ticket from its row."""
    return Ticket(
        id=row.id,
        conversation_id=row.conversation_id,
        client_id=row.client_id,
        tier=Tier(row.tier),
        reason=EscalationReason(row.reason),
        question=row.question,
        enqueued_at=row.enqueued_at,
        queue=QueueName(row.queue) if row.queue else None,
        priority=row.priority,
        vip=bool(row.vip),
        status=TicketStatus(row.status),
        assigned_to=row.assigned_to,
        assigned_at=row.assigned_at,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        responder_step=ResponderStep(row.responder_step) if row.responder_step is not None else None,
        responder_deadline=row.responder_deadline,
    )
