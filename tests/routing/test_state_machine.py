from datetime import UTC, datetime
from typing import Any

import pytest

from routing.errors import IllegalTransition, ValidationFailed
from routing.models import Channel, Conversation, ConversationState, EscalationReason, QueueName, Tier
from routing.state_machine import (
    RULES,
    TransitionName,
    allowed_transitions,
    apply,
    being_served,
    bot_owns,
    can_rate,
    human_holds,
    in_tier2_queue_or_service,
    is_allowed,
    is_open,
    rates_human,
    reopen_target,
)

S = ConversationState
T = TransitionName
AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

EXPECTED: dict[tuple[TransitionName, ConversationState], ConversationState | None] = {
    (T.ESCALATE_TO_QUEUE, S.BOT): S.QUEUED,
    (T.ASSIGN, S.QUEUED): S.WITH_AGENT,
    (T.TRANSFER_QUEUE, S.QUEUED): S.QUEUED,
    (T.TRANSFER_QUEUE, S.WITH_AGENT): S.QUEUED,
    (T.TRANSFER_AGENT, S.WITH_AGENT): S.WITH_AGENT,
    (T.ESCALATE_TO_RESPONDER, S.BOT): S.AWAITING_RESPONDER,
    (T.ESCALATE_TO_RESPONDER, S.QUEUED): S.AWAITING_RESPONDER,
    (T.ESCALATE_TO_RESPONDER, S.WITH_AGENT): S.AWAITING_RESPONDER,
    (T.ESCALATE_TO_RESPONDER, S.RESOLVED): S.AWAITING_RESPONDER,
    (T.LEAVE_MESSAGE, S.BOT): S.AWAITING_RESPONDER,
    (T.LEAVE_MESSAGE, S.QUEUED): S.AWAITING_RESPONDER,
    (T.LEAVE_MESSAGE, S.WITH_AGENT): S.AWAITING_RESPONDER,
    (T.LEAVE_MESSAGE, S.RESOLVED): S.AWAITING_RESPONDER,
    (T.RESPONDER_ACCEPT, S.AWAITING_RESPONDER): S.WITH_RESPONDER,
    (T.RESPONDER_REASSIGN, S.AWAITING_RESPONDER): S.AWAITING_RESPONDER,
    (T.RESPONDER_REASSIGN, S.WITH_RESPONDER): S.AWAITING_RESPONDER,  # the holder was disabled
    (T.RESOLVE, S.WITH_AGENT): S.RESOLVED,
    (T.RESOLVE, S.WITH_RESPONDER): S.RESOLVED,
    (T.RETURN_TO_BOT, S.RESOLVED): S.BOT,
    (T.REOPEN, S.RESOLVED): None,
    (T.REOPEN, S.CLOSED): None,
    **{(T.CLOSE, state): S.CLOSED for state in S if state != S.CLOSED},
}


def conversation(state: S, **fields) -> Conversation:
    defaults = {
        S.QUEUED: {"queue": QueueName.ADVISOR, "ticket_id": "t1", "tier": Tier.ONLINE},
        S.WITH_AGENT: {
            "queue": QueueName.ADVISOR,
            "ticket_id": "t1",
            "assignee_id": "a1",
            "tier": Tier.ONLINE,
        },
        S.AWAITING_RESPONDER: {"ticket_id": "t2", "assignee_id": "r1", "tier": Tier.RESPONDER},
        S.WITH_RESPONDER: {"ticket_id": "t2", "assignee_id": "r1", "tier": Tier.RESPONDER},
        S.RESOLVED: {"ticket_id": "t1", "assignee_id": "a1", "tier": Tier.ONLINE},
    }.get(state, {})
    values = {"tier": Tier.BOT, **defaults, **fields}
    return Conversation("c1", "client1", Channel.WIDGET, state, created_at=AT, updated_at=AT, **values)


def test_table_is_exactly_the_expected_one():
    actual = {(name, state) for name, rule in RULES.items() for state in rule.sources}
    assert actual == set(EXPECTED)


@pytest.mark.parametrize("name", list(T))
@pytest.mark.parametrize("state", list(S))
def test_every_pair_is_allowed_or_raises(name, state):
    before = conversation(state)
    if (name, state) not in EXPECTED:
        assert not is_allowed(name, state)
        with pytest.raises(IllegalTransition) as error:
            apply(before, name, "x", "why", AT, assignee_id="a2", queue=QueueName.SERVICE)
        assert error.value.state == state.value and error.value.transition == name.value
        return
    assert is_allowed(name, state)
    changes: dict[str, Any] = {}
    if name in {T.ASSIGN, T.TRANSFER_AGENT, T.ESCALATE_TO_RESPONDER, T.LEAVE_MESSAGE, T.RESPONDER_REASSIGN}:
        changes["assignee_id"] = "a2"
    if name in {T.ESCALATE_TO_QUEUE, T.TRANSFER_QUEUE}:
        changes.update(queue=QueueName.SERVICE, ticket_id="t9", assignee_id=None)
    after, transition = apply(before, name, "actor1", "because", AT, **changes)
    expected = EXPECTED[(name, state)] or reopen_target(before)
    assert after.state == expected
    assert after.version == before.version + 1
    assert after.updated_at == AT
    assert transition.name == name.value
    assert (transition.from_state, transition.to_state) == (state, expected)
    assert (transition.actor, transition.reason, transition.at) == ("actor1", "because", AT)
    assert transition.tier == after.tier


def test_tiers_follow_the_transition():
    queued, _ = apply(conversation(S.BOT), T.ESCALATE_TO_QUEUE, "s", "r", AT, queue=QueueName.ADVISOR, ticket_id="t")
    assert queued.tier == Tier.ONLINE and queued.queue == QueueName.ADVISOR
    tier3, _ = apply(queued, T.ESCALATE_TO_RESPONDER, "s", "r", AT, assignee_id="r1", queue=None)
    assert tier3.tier == Tier.RESPONDER and tier3.queue is None
    resolved, _ = apply(conversation(S.WITH_AGENT), T.RESOLVE, "a1", "done", AT)
    assert resolved.tier == Tier.ONLINE and resolved.assignee_id == "a1"


def test_return_to_bot_clears_the_episode():
    bot, transition = apply(conversation(S.RESOLVED), T.RETURN_TO_BOT, "client", "next", AT)
    assert (bot.state, bot.tier, bot.queue, bot.assignee_id, bot.ticket_id) == (
        S.BOT,
        Tier.BOT,
        None,
        None,
        None,
    )
    assert transition.tier == Tier.BOT


def test_escalation_reason_is_kept_unless_given():
    before = conversation(S.BOT)
    after, _ = apply(
        before,
        T.ESCALATE_TO_QUEUE,
        "s",
        "r",
        AT,
        queue=QueueName.SERVICE,
        ticket_id="t",
        escalation_reason=EscalationReason.LOW_SCORE,
    )
    assigned, _ = apply(after, T.ASSIGN, "s", "r", AT, assignee_id="a1")
    assert assigned.escalation_reason == EscalationReason.LOW_SCORE


def test_reopen_goes_back_to_the_last_holder():
    assert reopen_target(conversation(S.RESOLVED)) == S.WITH_AGENT
    assert reopen_target(conversation(S.RESOLVED, tier=Tier.RESPONDER)) == S.WITH_RESPONDER
    assert reopen_target(conversation(S.CLOSED)) == S.BOT


@pytest.mark.parametrize(
    ("state", "name", "changes"),
    [
        (S.BOT, T.ESCALATE_TO_QUEUE, {"queue": QueueName.ADVISOR}),  # no ticket
        (S.QUEUED, T.ASSIGN, {}),  # no assignee
        (S.BOT, T.ESCALATE_TO_RESPONDER, {}),  # no responder
        (S.WITH_AGENT, T.TRANSFER_QUEUE, {"queue": QueueName.SERVICE}),  # keeps the agent
    ],
)
def test_invariants_are_checked(state, name, changes):
    with pytest.raises(ValidationFailed):
        apply(conversation(state), name, "s", "r", AT, **changes)


def test_allowed_transitions_lists_the_table():
    assert allowed_transitions(S.CLOSED) == [T.REOPEN]
    assert set(allowed_transitions(S.QUEUED)) == {
        T.ASSIGN,
        T.TRANSFER_QUEUE,
        T.ESCALATE_TO_RESPONDER,
        T.LEAVE_MESSAGE,
        T.CLOSE,
    }


def test_state_predicates_say_who_owns_the_conversation() -> None:
    assert {s for s in S if bot_owns(s)} == {S.BOT, S.RESOLVED}
    assert {s for s in S if human_holds(s)} == {S.WITH_AGENT, S.AWAITING_RESPONDER, S.WITH_RESPONDER}
    assert {s for s in S if being_served(s)} == {S.WITH_AGENT, S.WITH_RESPONDER}
    assert {s for s in S if not can_rate(s)} == {S.QUEUED, S.AWAITING_RESPONDER, S.CLOSED}
    assert {s for s in S if rates_human(s)} == {S.WITH_AGENT, S.WITH_RESPONDER, S.RESOLVED}
    assert {s for s in S if in_tier2_queue_or_service(s)} == {S.QUEUED, S.WITH_AGENT}
    assert {s for s in S if not is_open(s)} == {S.CLOSED}
    assert not any(bot_owns(s) and human_holds(s) for s in S)  # the bot never talks over a person
