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
"""Roles that oversee conversations: an admin the whole firm's, a duty manager their own branch's."""


def is_supervisor(staff: Staff) -> bool:
    """An admin or a duty manager (sees the figures, manages canned replies)."""
    return staff.role in SUPERVISOR_ROLES


def supervised_branch(staff: Staff) -> str | None:
    """The branch whose clients a supervisor oversees; None for an admin (every branch)."""
    return None if staff.role == Role.ADMIN else staff.branch


def supervises(staff: Staff, client: Client) -> bool:
    """An admin, or a duty manager of the client's branch: may see and act on the client's conversations."""
    if staff.role == Role.ADMIN:
        return True
    return staff.role == Role.DUTY_MANAGER and staff.branch == client.branch


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
    """The client's supervisors, the holder, the client's responder, and skilled staff while in their queue."""
    if supervises(staff, client) or holds(staff, conversation) or is_responder_of(staff, client):
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


def check_holder(staff: Staff, conversation: Conversation, client: Client) -> None:
    """Only the holder (or the client's supervisor) acts on an assigned conversation."""
    if not (holds(staff, conversation) or supervises(staff, client)):
        raise Forbidden(f"{staff.id} does not hold conversation {conversation.id}")


def check_replier(staff: Staff, conversation: Conversation) -> None:
    """Only the holder answers in a served conversation (a supervisor does not talk over them)."""
    if not holds(staff, conversation):
        raise Forbidden(f"{staff.id} does not hold conversation {conversation.id}")


def check_tier3_actor(staff: Staff, conversation: Conversation, client: Client) -> None:
    """The ladder's current rung, the client's own responder, or the client's supervisor."""
    if not (holds(staff, conversation) or supervises(staff, client) or is_responder_of(staff, client)):
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


def check_may_escalate(staff: Staff, conversation: Conversation, client: Client) -> None:
    """A waiting conversation is escalated by the client's supervisor only; a served one by its holder too."""
    if conversation.state == ConversationState.QUEUED:
        if not supervises(staff, client):
            raise Forbidden("only the client's supervisor escalates a conversation still in the queue")
        return
    check_holder(staff, conversation, client)


def check_may_requeue(staff: Staff, conversation: Conversation, client: Client) -> None:
    """A waiting conversation is moved by the client's supervisor or staff skilled for its queue; a served one
    by its holder (or the client's supervisor)."""
    if conversation.state == ConversationState.QUEUED:
        queue = conversation.queue
        if not (supervises(staff, client) or (queue is not None and can_serve_queue(staff, queue))):
            raise Forbidden(f"{staff.id} may not move conversations of this queue")
        return
    check_holder(staff, conversation, client)


COMPLIANCE_ROLES = frozenset({Role.COMPLIANCE, Role.ADMIN})
"""Roles that may search and export conversations for compliance."""


def check_may_search_records(staff: Staff) -> None:
    """Only compliance staff and admins search and export conversations."""
    if staff.role not in COMPLIANCE_ROLES:
        raise Forbidden(f"{staff.id} may not search or export conversations (compliance and admins only)")


def check_may_see_figures(staff: Staff) -> None:
    """Only supervisors see the day's figures and the reports (a duty manager their branch's)."""
    if not is_supervisor(staff):
        raise Forbidden("only duty managers and admins see the figures")


def check_may_manage_canned(staff: Staff) -> None:
    """Only supervisors (duty managers, admins) add, change and remove canned replies."""
    if not is_supervisor(staff):
        raise Forbidden(f"{staff.id} may not manage canned replies (supervisors only)")
