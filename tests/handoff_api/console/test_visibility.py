"""Which events a staff member's console receives."""

from __future__ import annotations

from handoff_api.console.visibility import Visibility
from routing.events import AgentJoined, Escalated, MessageAdded, PresenceChanged, Queued
from routing.models import QueueName, Role, Staff


def message(conversation_id: str) -> MessageAdded:
    return MessageAdded(conversation_id, "m1", 1, "client", "您好", "2026-12-01T09:00:00+00:00")


def member(role: Role, skills: frozenset[QueueName] = frozenset()) -> Staff:
    return Staff("s1", "测试", role, skills, 5, "上海浦东营业部")


async def test_supervisor_sees_everything_without_lookups() -> None:
    async def never(_: str) -> bool:
        raise AssertionError("no lookup expected")

    visibility = Visibility(member(Role.DUTY_MANAGER), never)
    assert await visibility.allows(message("c1"))
    assert await visibility.allows(PresenceChanged("other", "online"))


async def test_agent_sees_own_presence_and_queue_but_asks_for_other_conversations() -> None:
    asked: list[str] = []

    async def may_view(conversation_id: str) -> bool:
        asked.append(conversation_id)
        return conversation_id == "mine"

    visibility = Visibility(member(Role.SERVICE, frozenset({QueueName.SERVICE})), may_view)
    assert await visibility.allows(PresenceChanged("s1", "online"))
    assert not await visibility.allows(PresenceChanged("s2", "online"))
    assert await visibility.allows(Queued("x", "service", 1))
    assert not await visibility.allows(Queued("y", "advisor", 1))
    assert await visibility.allows(message("mine"))
    assert await visibility.allows(message("mine"))
    assert asked == ["y", "mine"]  # the second "mine" came from the cache
    assert await visibility.allows(AgentJoined("z", "s1", "测试", 2))


async def test_hand_over_events_drop_the_cached_answer() -> None:
    answers = {"c": False}

    async def may_view(conversation_id: str) -> bool:
        return answers[conversation_id]

    visibility = Visibility(member(Role.RESPONDER), may_view)
    assert not await visibility.allows(message("c"))
    answers["c"] = True
    assert await visibility.allows(Escalated("c", 3, "other", "wait_limit"))
    assert await visibility.allows(message("c"))
