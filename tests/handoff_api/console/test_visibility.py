"""Which events a staff member's console receives."""

from __future__ import annotations

from handoff_api.console.visibility import Visibility
from routing.events import AgentJoined, Escalated, MessageAdded, PresenceChanged, Queued
from routing.models import QueueName, Role, Staff


def message(conversation_id: str) -> MessageAdded:
    return MessageAdded(conversation_id, "m1", 1, "client", "您好", "2026-12-01T09:00:00+00:00")


def member(role: Role, skills: frozenset[QueueName] = frozenset()) -> Staff:
    return Staff("s1", "测试", role, skills, 5, "上海浦东营业部")


async def test_an_admin_sees_everything_without_lookups() -> None:
    async def never(_: str) -> bool:
        raise AssertionError("no lookup expected")

    visibility = Visibility(member(Role.ADMIN), never)
    assert await visibility.allows(message("c1"))
    assert await visibility.allows(Queued("x", "advisor", 1))
    assert await visibility.allows(PresenceChanged("other", "online"))


async def test_a_duty_manager_sees_everyones_presence_and_their_branch_conversations() -> None:
    asked: list[str] = []

    async def may_view(conversation_id: str) -> bool:  # routing's rule: the duty manager's own branch
        asked.append(conversation_id)
        return conversation_id.startswith("sh-")

    visibility = Visibility(member(Role.DUTY_MANAGER), may_view)
    assert await visibility.allows(PresenceChanged("other", "online"))
    assert await visibility.allows(message("sh-1"))
    assert await visibility.allows(Queued("sh-2", "service", 1))
    assert not await visibility.allows(message("bj-1"))
    assert not await visibility.allows(Queued("bj-2", "advisor", 1))
    assert asked == ["sh-1", "sh-2", "bj-1", "bj-2"]


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


ID_CARD_TEXT = "我的身份证110101199003071234，手机13812345678"
MASKED_TEXT = "我的身份证110***********1234，手机138****5678"


def client_message(conversation_id: str, text: str = ID_CARD_TEXT) -> MessageAdded:
    return MessageAdded(
        conversation_id, "m2", 2, "client", text, "2026-12-01T09:00:00+00:00", payload={"echo": text, "n": 1}
    )


async def test_only_the_serving_staff_member_gets_a_messages_text() -> None:
    asked: list[str] = []

    async def serves(conversation_id: str) -> bool:
        asked.append(conversation_id)
        return conversation_id == "mine"

    async def may_view(_: str) -> bool:
        return True

    visibility = Visibility(member(Role.SERVICE, frozenset({QueueName.SERVICE})), may_view, serves=serves)
    served = await visibility.wire(client_message("mine"))
    assert served["text"] == ID_CARD_TEXT and served["payload"] == {"echo": ID_CARD_TEXT, "n": 1}
    watched = await visibility.wire(client_message("theirs"))
    assert watched["text"] == MASKED_TEXT and watched["payload"] == {"echo": MASKED_TEXT, "n": 1}
    assert {key: value for key, value in watched.items() if key not in {"text", "payload"}} == {
        key: value for key, value in served.items() if key not in {"text", "payload"}
    } | {"conversation_id": "theirs"}
    await visibility.wire(client_message("mine"))
    assert asked == ["mine", "theirs"]  # cached per conversation


async def test_ones_own_words_are_never_masked_and_without_a_holder_check_everything_is() -> None:
    async def may_view(_: str) -> bool:
        return True

    visibility = Visibility(member(Role.DUTY_MANAGER), may_view)
    own = MessageAdded(
        "c", "m3", 3, "agent", "您的卡号6222021234567890已核实", "2026-12-01T09:00:00+00:00", staff_id="s1"
    )
    assert (await visibility.wire(own))["text"] == own.text
    assert (await visibility.wire(client_message("c")))["text"] == MASKED_TEXT


async def test_a_hand_over_drops_the_cached_holder_answer_even_for_supervisors() -> None:
    holder = {"c": False}

    async def serves(conversation_id: str) -> bool:
        return holder[conversation_id]

    async def own_branch(_: str) -> bool:
        return True

    visibility = Visibility(member(Role.DUTY_MANAGER), own_branch, serves=serves)
    assert (await visibility.wire(client_message("c")))["text"] == MASKED_TEXT
    holder["c"] = True  # the ladder reached the duty manager
    assert await visibility.allows(Escalated("c", 3, "s1", "responder_timeout"))
    assert (await visibility.wire(client_message("c")))["text"] == ID_CARD_TEXT


async def test_queue_events_carry_no_text() -> None:
    async def may_view(_: str) -> bool:
        return True

    visibility = Visibility(member(Role.SERVICE, frozenset({QueueName.SERVICE})), may_view)
    assert await visibility.wire(Queued("x", "service", 1)) == {
        "type": "queued",
        "conversation_id": "x",
        "queue": "service",
        "position": 1,
        "vip": False,
        "reason": None,
    }
