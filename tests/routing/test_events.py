"""Routing's typed events and their JSON form."""

from __future__ import annotations

import json

import pytest

from routing.events import (
    EVENT_TYPES,
    AgentJoined,
    Closed,
    Escalated,
    EventName,
    IdleWarning,
    MessageAdded,
    PresenceChanged,
    Queued,
    RoutingEvent,
    Typing,
    conversation_of,
    from_wire,
    to_wire,
)

SAMPLES: list[RoutingEvent] = [
    MessageAdded("c1", "m1", 3, "bot", "您好", "2026-12-01T09:00:00+00:00", {"type": "answer"}, 1, None),
    Queued("c1", "advisor", 2, vip=True, reason="low_score"),
    AgentJoined("c1", "adv1", "张伟", 2, "S0570120080012"),
    Escalated("c1", 3, "rsp01", "wait_limit", step="backup"),
    Closed("c1"),
    PresenceChanged("adv1", "online"),
    Typing("c1", "agent", "张伟"),
    IdleWarning("c1", "adv1", 120),
]


def test_every_name_has_one_event_class() -> None:
    assert set(EVENT_TYPES) == set(EventName)


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: event.kind.value)
def test_events_survive_the_trip_through_json(event: RoutingEvent) -> None:
    wire = to_wire(event)
    assert wire["type"] == event.kind.value
    assert from_wire(json.loads(json.dumps(wire, ensure_ascii=False))) == event


def test_the_wire_form_is_flat() -> None:
    assert to_wire(Typing("c1", "client")) == {
        "type": "typing",
        "conversation_id": "c1",
        "sender": "client",
        "name": None,
    }


@pytest.mark.parametrize(
    "data",
    [
        {"type": "unknown", "conversation_id": "c1"},
        {"conversation_id": "c1"},
        {"type": "closed"},
        {"type": "queued", "conversation_id": "c1", "queue": "advisor", "position": "2"},
        {"type": "queued", "conversation_id": "c1", "queue": "advisor", "position": True},
        {"type": "presence", "staff_id": 7, "presence": "online"},
        ["closed"],
        None,
    ],
)
def test_unknown_or_malformed_wire_objects_are_not_events(data: object) -> None:
    assert from_wire(data) is None


def test_unknown_extra_fields_are_ignored() -> None:
    assert from_wire({"type": "closed", "conversation_id": "c1", "by_a_newer_version": 1}) == Closed("c1")


def test_conversation_of() -> None:
    assert conversation_of(Closed("c9")) == "c9"
    assert conversation_of(PresenceChanged("adv1", "away")) is None
