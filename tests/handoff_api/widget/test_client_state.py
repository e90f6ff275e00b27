"""What a widget is told about its conversation's state, and when the facts need reading."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff_api.widget.client_state import ClientStateFeed, announcements, facts_of, may_change, shown_of
from routing.events import AgentJoined, Closed, Escalated, PositionChanged, Queued, Reopened, Resolved, Transferred
from routing.models import Channel, Conversation, ConversationState, QueueName, Role, Tier
from routing.service import ClientFacts, ServingStaff

S = ConversationState
AT = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
LIU = ServingStaff("svc01", "刘洋", Role.SERVICE, None)
ZHAO = ServingStaff("rsp01", "赵磊", Role.RESPONDER, "S0123")


def facts(
    state: ConversationState,
    *,
    queue: QueueName | None = None,
    position: int | None = None,
    wait: float | None = None,
    serving: ServingStaff | None = None,
    tier: Tier = Tier.ONLINE,
) -> ClientFacts:
    return ClientFacts("c1", state, tier, queue, position, wait, serving)


def kinds(envelopes: list[dict[str, object]]) -> list[object]:
    return [envelope["type"] for envelope in envelopes]


def test_a_fresh_session_in_the_bot_state_is_told_nothing() -> None:
    assert announcements(facts(S.BOT, tier=Tier.BOT), None) == []


def test_queueing_announces_the_hand_over_and_the_place() -> None:
    bot = shown_of(facts(S.BOT, tier=Tier.BOT))
    sent = announcements(facts(S.QUEUED, queue=QueueName.SERVICE, position=2, wait=75.4), bot)
    assert kinds(sent) == ["handoff", "queue_position"]
    assert sent[1]["position"] == 2 and sent[1]["estimated_wait_seconds"] == 75


def test_the_same_facts_are_not_announced_twice_unless_forced() -> None:
    queued = facts(S.QUEUED, queue=QueueName.SERVICE, position=1, wait=30.2)
    assert announcements(queued, shown_of(queued)) == []
    assert kinds(announcements(queued, shown_of(queued), force=True)) == ["queue_position"]
    assert kinds(announcements(facts(S.QUEUED, queue=QueueName.SERVICE, position=1, wait=40), shown_of(queued))) == [
        "queue_position"
    ]


def test_a_person_joining_and_closing_are_announced() -> None:
    queued = shown_of(facts(S.QUEUED, queue=QueueName.SERVICE, position=1))
    joined = announcements(facts(S.WITH_AGENT, queue=QueueName.SERVICE, serving=LIU), queued)
    assert kinds(joined) == ["handoff", "agent_joined"] and joined[1]["name"] == "刘洋"
    served = shown_of(facts(S.WITH_AGENT, queue=QueueName.SERVICE, serving=LIU))
    assert kinds(announcements(facts(S.CLOSED), served)) == ["handoff", "closed"]
    tier3 = announcements(facts(S.AWAITING_RESPONDER, serving=ZHAO, tier=Tier.RESPONDER), served)
    assert kinds(tier3) == ["handoff"] and "赵磊" in tier3[0]["notice"]


def test_facts_that_need_no_lookup_come_from_the_conversation() -> None:
    def conversation(state: ConversationState, assignee: str | None = None) -> Conversation:
        return Conversation("c1", "C1", Channel.WIDGET, state, Tier.ONLINE, AT, AT, QueueName.SERVICE, assignee)

    assert facts_of(conversation(S.BOT)) == ClientFacts("c1", S.BOT, Tier.ONLINE, QueueName.SERVICE, None, None, None)
    assert facts_of(conversation(S.CLOSED)) is not None and facts_of(conversation(S.RESOLVED)) is not None
    assert facts_of(conversation(S.QUEUED)) is None  # the place and the wait need the queue
    assert facts_of(conversation(S.WITH_AGENT, "svc01")) is None  # who serves needs the directory


QUEUED_1 = shown_of(facts(S.QUEUED, queue=QueueName.SERVICE, position=1))
WITH_LIU = shown_of(facts(S.WITH_AGENT, queue=QueueName.SERVICE, serving=LIU))
AWAITING_ZHAO = shown_of(facts(S.AWAITING_RESPONDER, serving=ZHAO, tier=Tier.RESPONDER))


@pytest.mark.parametrize(
    ("shown", "event"),
    [
        (QUEUED_1, Queued("c1", "service", 1)),
        (QUEUED_1, PositionChanged("c1", "service", 1)),
        (WITH_LIU, AgentJoined("c1", "svc01", "刘洋", 2)),
        (AWAITING_ZHAO, Escalated("c1", 3, "rsp01", "client_unresolved")),
        (shown_of(facts(S.RESOLVED)), Resolved("c1", "svc01")),
        (shown_of(facts(S.CLOSED)), Closed("c1")),
    ],
)
def test_an_event_that_confirms_what_was_shown_changes_nothing(shown, event) -> None:
    assert may_change(shown, event) is False


@pytest.mark.parametrize(
    ("shown", "event"),
    [
        (None, Queued("c1", "service", 1)),
        (QUEUED_1, PositionChanged("c1", "service", 2)),
        (QUEUED_1, Queued("c1", "advisor", 1)),
        (QUEUED_1, AgentJoined("c1", "svc01", "刘洋", 2)),
        (WITH_LIU, AgentJoined("c1", "svc02", "王强", 2)),
        (AWAITING_ZHAO, AgentJoined("c1", "rsp01", "赵磊", 3)),  # the responder's first reply
        (AWAITING_ZHAO, Escalated("c1", 3, "rsp02", "responder_timeout")),  # the ladder moved on
        (WITH_LIU, Transferred("c1", "svc01", queue="advisor")),
        (WITH_LIU, Resolved("c1", "svc01")),
        (shown_of(facts(S.RESOLVED)), Reopened("c1", "svc01")),
        (WITH_LIU, Closed("c1")),
    ],
)
def test_an_event_that_may_move_the_conversation_asks_for_the_facts(shown, event) -> None:
    assert may_change(shown, event) is True


async def test_the_feed_reads_facts_only_when_the_conversation_needs_a_lookup() -> None:
    sent: list[dict[str, object]] = []
    reads: list[int] = []
    queued = facts(S.QUEUED, queue=QueueName.SERVICE, position=1)

    async def send(envelope: object) -> None:
        sent.append(dict(envelope))  # type: ignore[call-overload]

    async def read() -> ClientFacts:
        reads.append(1)
        return queued

    feed = ClientStateFeed(send, read, S.BOT)
    back_to_bot = Conversation("c1", "C1", Channel.WIDGET, S.BOT, Tier.BOT, AT, AT)
    await feed.settle(back_to_bot)
    assert (reads, feed.state) == ([], S.BOT)
    await feed.settle(Conversation("c1", "C1", Channel.WIDGET, S.QUEUED, Tier.ONLINE, AT, AT, QueueName.SERVICE))
    assert reads == [1] and feed.state == S.QUEUED and kinds(sent) == ["handoff", "queue_position"]
    assert feed.may_change(Queued("c1", "service", 1)) is False
