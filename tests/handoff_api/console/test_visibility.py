"""Which events a staff member's console receives."""

from __future__ import annotations

from handoff_api.console.visibility import Visibility
from routing.models import QueueName, Role, Staff


def member(role: Role, skills: frozenset[QueueName] = frozenset()) -> Staff:
    return Staff("s1", "测试", role, skills, 5, "上海浦东营业部")


async def test_supervisor_sees_everything_without_lookups() -> None:
    async def never(_: str) -> bool:
        raise AssertionError("no lookup expected")

    visibility = Visibility(member(Role.DUTY_MANAGER), never)
    assert await visibility.allows({"type": "message", "conversation_id": "c1"})
    assert await visibility.allows({"type": "presence", "staff_id": "other"})


async def test_agent_sees_own_presence_and_queue_but_asks_for_other_conversations() -> None:
    asked: list[str] = []

    async def may_view(conversation_id: str) -> bool:
        asked.append(conversation_id)
        return conversation_id == "mine"

    visibility = Visibility(member(Role.SERVICE, frozenset({QueueName.SERVICE})), may_view)
    assert await visibility.allows({"type": "presence", "staff_id": "s1"})
    assert not await visibility.allows({"type": "presence", "staff_id": "s2"})
    assert await visibility.allows({"type": "queued", "conversation_id": "x", "queue": "service"})
    assert not await visibility.allows({"type": "queued", "conversation_id": "y", "queue": "advisor"})
    assert await visibility.allows({"type": "message", "conversation_id": "mine"})
    assert await visibility.allows({"type": "message", "conversation_id": "mine"})
    assert asked == ["y", "mine"]  # the second "mine" came from the cache
    assert await visibility.allows({"type": "agent_joined", "conversation_id": "z", "staff_id": "s1"})


async def test_hand_over_events_drop_the_cached_answer() -> None:
    answers = {"c": False}

    async def may_view(conversation_id: str) -> bool:
        return answers[conversation_id]

    visibility = Visibility(member(Role.RESPONDER), may_view)
    assert not await visibility.allows({"type": "message", "conversation_id": "c"})
    answers["c"] = True
    assert await visibility.allows({"type": "escalated", "conversation_id": "c", "staff_id": "other"})
    assert await visibility.allows({"type": "message", "conversation_id": "c"})
