"""Access rules: who may view, hold and act on a conversation, see a queue, claim or take a transfer.

Pure: callers pass the staff member, the conversation and, where the client's responder matters,
the client; nothing here reads a store. The `check_*` functions raise routing.errors.Forbidden.
"""

from __future__ import annotations

from routing.assignment import TIER2_ROLES, can_serve_queue
from routing.errors import Forbidden
from routing.models import Client, Conversation, ConversationState, QueueName, Role, Staff, Tier
from routing.state_machine import in_tier2_queue_or_service

SUPERVISOR_ROLES = frozenset({Role.ADMIN, Role.DUTY_MANAGER})
"""Roles that may see and act on every conversation."""


def is_supervisor(staff: Staff) -> bool:
    """An admin or a duty manager."""
    return staff.role in SUPERVISOR_ROLES


def in_tier2_role(staff: Staff) -> bool:
    """An online advisor or online service member (whatever their skills)."""
    return staff.role in TIER2_ROLES


def serves_tier2_queues(staff: Staff) -> bool:
    """A tier-2 member with at least one queue skill: may claim, and may take transfers."""
    return in_tier2_role(staff) and bool(staff.skills)


def serves_queue(staff: Staff, queue: QueueName) -> bool:
    """A tier-2 member skilled for this queue."""
    return in_tier2_role(staff) and can_serve_queue(staff, queue)


def holds(staff: Staff, conversation: Conversation) -> bool:
    """The conversation is assigned to this staff member."""
    return conversation.assignee_id == staff.id


def is_responder_of(staff: Staff, client: Client) -> bool:
    """This staff member holds the client's service relationship (tier 3)."""
    return client.responder_id == staff.id


def may_view(staff: Staff, conversation: Conversation, client: Client) -> bool:
    """Supervisors, the holder, the client's responder, and skilled staff while it is in their tier-2 queue."""
    if is_supervisor(staff) or holds(staff, conversation) or is_responder_of(staff, client):
        return True
    queue = conversation.queue
    return queue is not None and in_tier2_queue_or_service(conversation.state) and serves_queue(staff, queue)


def sees_as_responder(staff: Staff, conversation: Conversation, client: Client) -> bool:
    """A responder follows their own clients' tier-3 conversations, whoever holds them."""
    return staff.role == Role.RESPONDER and conversation.tier == Tier.RESPONDER and is_responder_of(staff, client)


def check_can_view(staff: Staff, conversation: Conversation, client: Client) -> None:
    """Forbidden unless `may_view`."""
    if not may_view(staff, conversation, client):
        raise Forbidden(f"{staff.id} may not see conversation {conversation.id}")


def check_holder(staff: Staff, conversation: Conversation) -> None:
    """Only the holder (or a supervisor) acts on an assigned conversation."""
    if not (holds(staff, conversation) or is_supervisor(staff)):
        raise Forbidden(f"{staff.id} does not hold conversation {conversation.id}")


def check_replier(staff: Staff, conversation: Conversation) -> None:
    """Only the holder answers in a served conversation (a supervisor does not talk over them)."""
    if not holds(staff, conversation):
        raise Forbidden(f"{staff.id} does not hold conversation {conversation.id}")


def check_tier3_actor(staff: Staff, conversation: Conversation, client: Client) -> None:
    """The ladder's current rung, the client's own responder, or a supervisor."""
    if not (holds(staff, conversation) or is_supervisor(staff) or is_responder_of(staff, client)):
        raise Forbidden(f"{staff.id} is not the responder of this client")


def check_may_see_queue(staff: Staff, queue: QueueName) -> None:
    """Skilled tier-2 staff and supervisors see a queue."""
    if not (is_supervisor(staff) or serves_queue(staff, queue)):
        raise Forbidden(f"{staff.id} may not see the {queue.value} queue")


def check_may_claim(staff: Staff) -> None:
    """Only tier-2 staff with a queue skill claim."""
    if not serves_tier2_queues(staff):
        raise Forbidden(f"{staff.id} does not serve the tier-2 queues")


def check_serves_queue(staff: Staff, queue: QueueName) -> None:
    """Forbidden unless the staff member is a tier-2 member skilled for `queue`."""
    if not serves_queue(staff, queue):
        raise Forbidden(f"{staff.id} is not skilled for the {queue.value} queue")


def check_may_escalate(staff: Staff, conversation: Conversation) -> None:
    """A waiting conversation is escalated by a supervisor only; a served one by its holder (or a supervisor)."""
    if conversation.state == ConversationState.QUEUED:
        if not is_supervisor(staff):
            raise Forbidden("only a supervisor escalates a conversation still in the queue")
        return
    check_holder(staff, conversation)


def check_may_requeue(staff: Staff, conversation: Conversation) -> None:
    """A waiting conversation is moved by a supervisor or staff skilled for its queue; a served one by its holder."""
    if conversation.state == ConversationState.QUEUED:
        queue = conversation.queue
        if not (is_supervisor(staff) or (queue is not None and can_serve_queue(staff, queue))):
            raise Forbidden(f"{staff.id} may not move conversations of this queue")
        return
    check_holder(staff, conversation)


COMPLIANCE_ROLES = frozenset({Role.COMPLIANCE, Role.ADMIN})
"""Roles that may search and export conversations for compliance."""


def check_may_search_records(staff: Staff) -> None:
    """Only compliance staff and admins search and export conversations."""
    if staff.role not in COMPLIANCE_ROLES:
        raise Forbidden(f"{staff.id} may not search or export conversations (compliance and admins only)")


def check_may_manage_canned(staff: Staff) -> None:
    """Only supervisors (duty managers, admins) add, change and remove canned replies."""
    if not is_supervisor(staff):
        raise Forbidden(f"{staff.id} may not manage canned replies (supervisors only)")
