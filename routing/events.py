"""Routing's events: what the channels (widget, console, WeCom) hear about conversations and staff.

One frozen dataclass per event, named by `EventName`. Events travel between processes as JSON
objects (`to_wire` / `from_wire`), with the event name under "type" and the fields beside it;
`from_wire` returns None for anything it does not recognise, so a newer publisher never breaks an
older subscriber. Pure: standard library only.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, get_type_hints


class EventName(StrEnum):
    """Every event routing (and the channels' typing indicator) publishes."""

    MESSAGE = "message"
    QUEUED = "queued"
    POSITION_CHANGED = "position_changed"
    AGENT_JOINED = "agent_joined"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    PRESENCE = "presence"
    TYPING = "typing"
    IDLE_WARNING = "idle_warning"


@dataclass(frozen=True)
class MessageAdded:
    """A message was appended to a conversation's transcript."""

    kind: ClassVar[EventName] = EventName.MESSAGE
    conversation_id: str
    message_id: str
    seq: int
    sender: str
    text: str
    at: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    served_tier: int | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class Queued:
    """A conversation entered a tier-2 queue from the bot."""

    kind: ClassVar[EventName] = EventName.QUEUED
    conversation_id: str
    queue: str
    position: int | None
    vip: bool = False
    reason: str | None = None
    """Why the conversation left the bot (routing.models.EscalationReason's value)."""


@dataclass(frozen=True)
class PositionChanged:
    """A waiting conversation's place in its queue (sent for the head of the queue after moves)."""

    kind: ClassVar[EventName] = EventName.POSITION_CHANGED
    conversation_id: str
    queue: str
    position: int


@dataclass(frozen=True)
class AgentJoined:
    """A person now serves the conversation (assignment, transfer or a responder's first reply)."""

    kind: ClassVar[EventName] = EventName.AGENT_JOINED
    conversation_id: str
    staff_id: str
    staff_name: str
    tier: int
    practice_number: str | None = None


@dataclass(frozen=True)
class Transferred:
    """Moved to another queue (`queue` set, `staff_id` None) or to a colleague (`staff_id` set)."""

    kind: ClassVar[EventName] = EventName.TRANSFERRED
    conversation_id: str
    by: str
    queue: str | None = None
    staff_id: str | None = None


@dataclass(frozen=True)
class Escalated:
    """Handed to tier 3 (a responder, backup or duty manager), or moved along the responder ladder."""

    kind: ClassVar[EventName] = EventName.ESCALATED
    conversation_id: str
    tier: int
    staff_id: str
    reason: str
    leave_message: bool = False
    step: str | None = None


@dataclass(frozen=True)
class Resolved:
    """The question was answered; `staff_id` is who held it."""

    kind: ClassVar[EventName] = EventName.RESOLVED
    conversation_id: str
    staff_id: str | None = None


@dataclass(frozen=True)
class Reopened:
    """A resolved or closed conversation is open again with whoever last held it."""

    kind: ClassVar[EventName] = EventName.REOPENED
    conversation_id: str
    staff_id: str | None = None


@dataclass(frozen=True)
class Closed:
    """The conversation ended."""

    kind: ClassVar[EventName] = EventName.CLOSED
    conversation_id: str
    staff_id: str | None = None


@dataclass(frozen=True)
class PresenceChanged:
    """A staff member went online, away or offline."""

    kind: ClassVar[EventName] = EventName.PRESENCE
    staff_id: str
    presence: str


@dataclass(frozen=True)
class Typing:
    """Someone in the conversation is typing (`sender`: client, agent or responder; `name`: a person's name)."""

    kind: ClassVar[EventName] = EventName.TYPING
    conversation_id: str
    sender: str
    name: str | None = None


@dataclass(frozen=True)
class IdleWarning:
    """The client has waited long for the agent holding the conversation; at `seconds_left` it is requeued."""

    kind: ClassVar[EventName] = EventName.IDLE_WARNING
    conversation_id: str
    staff_id: str
    seconds_left: int


RoutingEvent = (
    MessageAdded
    | Queued
    | PositionChanged
    | AgentJoined
    | Transferred
    | Escalated
    | Resolved
    | Reopened
    | Closed
    | PresenceChanged
    | Typing
    | IdleWarning
)
"""Any event on the bus."""

EVENT_TYPES: dict[EventName, type[RoutingEvent]] = {cls.kind: cls for cls in typing.get_args(RoutingEvent)}
"""The event class of each name."""

HAND_OVER_EVENTS = frozenset(
    {
        EventName.QUEUED,
        EventName.AGENT_JOINED,
        EventName.TRANSFERRED,
        EventName.ESCALATED,
        EventName.RESOLVED,
        EventName.REOPENED,
        EventName.CLOSED,
    }
)
"""Events after which a conversation may be in another state or with another person."""

QUEUE_MOVEMENT_EVENTS = frozenset({EventName.QUEUED, EventName.POSITION_CHANGED, EventName.TRANSFERRED})
"""Events that change who waits where in a tier-2 queue."""


def conversation_of(event: RoutingEvent) -> str | None:
    """The conversation an event is about (None for presence)."""
    return getattr(event, "conversation_id", None)


def to_wire(event: RoutingEvent) -> dict[str, Any]:
    """The JSON object that carries the event between processes."""
    return {"type": event.kind.value, **dataclasses.asdict(event)}


def from_wire(data: object) -> RoutingEvent | None:
    """The event a JSON object carries; None if its type is unknown or a field is missing or mistyped."""
    if not isinstance(data, Mapping):
        return None
    try:
        cls = EVENT_TYPES[EventName(str(data.get("type")))]
    except (KeyError, ValueError):
        return None
    values: dict[str, Any] = {}
    for item in dataclasses.fields(cls):
        if item.name in data:
            value = data[item.name]
            if not _fits(value, _field_types(cls)[item.name]):
                return None
            values[item.name] = value
        elif item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING:
            return None
    return cls(**values)


_HINTS: dict[type, dict[str, Any]] = {}


def _field_types(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls)
    return hints


def _fits(value: object, hint: Any) -> bool:
    """Whether a decoded JSON value fits a field's annotation (str, int, bool, None, Mapping, unions)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return any(_fits(value, option) for option in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if typing.get_origin(hint) in {Mapping, dict} or hint in {Mapping, dict}:
        return isinstance(value, Mapping)
    return True
