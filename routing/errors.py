"""Routing errors: each maps to one HTTP status in the API (noted per class)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from routing.models import Message


class RoutingError(Exception):
    """Base of every routing error; the message is safe to show to staff."""


class NotFound(RoutingError):
    """An unknown conversation, client, staff member, ticket or queue item (404)."""


class IllegalTransition(RoutingError):
    """The conversation's state does not allow the requested transition (409)."""

    def __init__(self, transition: str, state: str) -> None:
        super().__init__(f"transition {transition!r} is not allowed from state {state!r}")
        self.transition = transition
        self.state = state


class StaleConversation(RoutingError):
    """The stored conversation changed since it was read (409); retry with fresh data."""


class StaleClaim(RoutingError):
    """The ticket was already claimed or its lease is gone (409)."""


class Forbidden(RoutingError):
    """The actor may not see or act on this conversation or queue (403)."""


class ValidationFailed(RoutingError):
    """The request is malformed: empty text, bad queue, bad presence... (422)."""


class NoCapacity(RoutingError):
    """The staff member has no free concurrency slot, or nobody can take the work (409)."""


class DuplicateClientMessage(RoutingError):
    """The client sent this message (same `client_msg_id`) before: `existing` is the one stored (200, not new)."""

    def __init__(self, existing: Message) -> None:
        super().__init__(f"client message {existing.client_msg_id!r} is stored as seq {existing.seq}")
        self.existing = existing


class ConversationAlreadyOpen(RoutingError):
    """The client already has a conversation that is not closed on this channel (409): continue that one."""


class AlreadyRated(RoutingError):
    """This resolution of the conversation already has a satisfaction rating (409)."""
