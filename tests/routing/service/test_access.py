"""The access rules are pure: staff, conversation and client in, a yes/no or Forbidden out."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from routing.errors import Forbidden
from routing.models import Channel, Client, Conversation, ConversationState, QueueName, Role, Staff, Tier
from routing.service import access

S = ConversationState
AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ADVISOR = Staff("adv", "顾问", Role.ADVISOR, frozenset({QueueName.ADVISOR}), 2, "sh")
SERVICE = Staff("svc", "客服", Role.SERVICE, frozenset({QueueName.SERVICE}), 2, "sh")
UNSKILLED = Staff("new", "新人", Role.SERVICE, frozenset(), 2, "sh")
RESPONDER = Staff("r1", "经理", Role.RESPONDER, frozenset(), 10, "sh")
OTHER_RESPONDER = Staff("r2", "经理二", Role.RESPONDER, frozenset(), 10, "sh")
DUTY = Staff("dm", "值班", Role.DUTY_MANAGER, frozenset(), 10, "sh")
ADMIN = Staff("admin", "管理员", Role.ADMIN, frozenset(), 1, "sh")
CLIENT = Client("k1", "客户", "gold", False, "sh", "r1")


def conversation(state: ConversationState, **changes: object) -> Conversation:
    tier = {S.BOT: Tier.BOT, S.AWAITING_RESPONDER: Tier.RESPONDER, S.WITH_RESPONDER: Tier.RESPONDER}.get(
        state, Tier.ONLINE
    )
    base = Conversation("c1", "k1", Channel.WIDGET, state, tier, AT, AT)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


QUEUED = conversation(S.QUEUED, queue=QueueName.ADVISOR, ticket_id="t1")
WITH_ADV = conversation(S.WITH_AGENT, queue=QueueName.ADVISOR, ticket_id="t1", assignee_id="adv")
WITH_R2 = conversation(S.WITH_RESPONDER, ticket_id="t2", assignee_id="r2")


def test_supervisors_are_admins_and_duty_managers() -> None:
    assert access.is_supervisor(ADMIN) and access.is_supervisor(DUTY)
    assert not any(access.is_supervisor(s) for s in (ADVISOR, SERVICE, RESPONDER))


OTHER_BRANCH_DUTY = dataclasses.replace(DUTY, id="dm-bj", branch="bj")


def test_a_duty_manager_supervises_their_branch_and_an_admin_every_branch() -> None:
    assert access.supervises(DUTY, CLIENT) and access.supervises(ADMIN, CLIENT)
    assert not access.supervises(OTHER_BRANCH_DUTY, CLIENT)
    assert not any(access.supervises(s, CLIENT) for s in (ADVISOR, SERVICE, RESPONDER))
    assert (access.supervised_branch(DUTY), access.supervised_branch(ADMIN)) == ("sh", None)
    other_admin = dataclasses.replace(ADMIN, branch="bj")
    assert access.supervises(other_admin, CLIENT)


def test_another_branchs_duty_manager_neither_sees_nor_acts() -> None:
    for seen in (QUEUED, WITH_ADV, WITH_R2):
        with pytest.raises(Forbidden, match="may not see"):
            access.check_can_view(OTHER_BRANCH_DUTY, seen, CLIENT)
    with pytest.raises(Forbidden, match="does not hold"):
        access.check_holder(OTHER_BRANCH_DUTY, WITH_ADV, CLIENT)
    with pytest.raises(Forbidden, match="supervisor"):
        access.check_may_escalate(OTHER_BRANCH_DUTY, QUEUED, CLIENT)
    with pytest.raises(Forbidden, match="may not move"):
        access.check_may_requeue(OTHER_BRANCH_DUTY, QUEUED, CLIENT)
    awaiting = conversation(S.AWAITING_RESPONDER, ticket_id="t2", assignee_id="r2")
    with pytest.raises(Forbidden, match="not the responder"):
        access.check_tier3_actor(OTHER_BRANCH_DUTY, awaiting, CLIENT)
    access.check_may_see_figures(OTHER_BRANCH_DUTY)  # their own branch's figures
    with pytest.raises(Forbidden, match="figures"):
        access.check_may_see_figures(RESPONDER)


def test_tier2_roles_and_skills() -> None:
    assert access.in_tier2_role(UNSKILLED) and not access.serves_tier2_queues(UNSKILLED)
    assert access.serves_tier2_queues(ADVISOR) and not access.serves_tier2_queues(RESPONDER)
    assert access.serves_queue(ADVISOR, QueueName.ADVISOR)
    assert not access.serves_queue(ADVISOR, QueueName.SERVICE)
    skilled_responder = dataclasses.replace(RESPONDER, skills=frozenset({QueueName.ADVISOR}))
    assert not access.serves_queue(skilled_responder, QueueName.ADVISOR)  # not a tier-2 role


@pytest.mark.parametrize(
    ("staff", "seen", "expected"),
    [
        (ADMIN, WITH_R2, True),  # supervisors see everything
        (RESPONDER, WITH_R2, True),  # the client's own responder
        (OTHER_RESPONDER, WITH_R2, True),  # the holder
        (ADVISOR, QUEUED, True),  # skilled, while in the tier-2 queue
        (ADVISOR, WITH_ADV, True),
        (SERVICE, QUEUED, False),  # not skilled for the advisor queue
        (ADVISOR, WITH_R2, False),  # tier 3 is not tier-2 staff's business
        (ADVISOR, conversation(S.RESOLVED, queue=QueueName.ADVISOR, assignee_id="other"), False),
    ],
)
def test_who_may_view(staff: Staff, seen: Conversation, expected: bool) -> None:
    other_client = dataclasses.replace(CLIENT, responder_id="r9")
    client = CLIENT if staff is RESPONDER else other_client
    assert access.may_view(staff, seen, client) is expected
    if expected:
        access.check_can_view(staff, seen, client)
    else:
        with pytest.raises(Forbidden, match="may not see"):
            access.check_can_view(staff, seen, client)


def test_holder_rules() -> None:
    access.check_holder(ADVISOR, WITH_ADV, CLIENT)
    access.check_holder(DUTY, WITH_ADV, CLIENT)
    with pytest.raises(Forbidden, match="does not hold"):
        access.check_holder(SERVICE, WITH_ADV, CLIENT)
    access.check_replier(ADVISOR, WITH_ADV)
    with pytest.raises(Forbidden, match="does not hold"):
        access.check_replier(ADMIN, WITH_ADV)  # supervisors do not talk over the holder


def test_tier3_actor_is_the_rung_the_responder_or_a_supervisor() -> None:
    awaiting = conversation(S.AWAITING_RESPONDER, ticket_id="t2", assignee_id="r2")
    for staff in (OTHER_RESPONDER, RESPONDER, DUTY):
        access.check_tier3_actor(staff, awaiting, CLIENT)
    with pytest.raises(Forbidden, match="not the responder"):
        access.check_tier3_actor(ADVISOR, awaiting, CLIENT)


def test_responders_follow_their_clients_tier3_conversations() -> None:
    assert access.sees_as_responder(RESPONDER, WITH_R2, CLIENT)
    assert not access.sees_as_responder(OTHER_RESPONDER, WITH_R2, CLIENT)
    assert not access.sees_as_responder(RESPONDER, WITH_ADV, CLIENT)  # tier 2: not theirs to follow


def test_queue_claim_and_skill_checks() -> None:
    access.check_may_see_queue(ADVISOR, QueueName.ADVISOR)
    access.check_may_see_queue(ADMIN, QueueName.SERVICE)
    with pytest.raises(Forbidden, match="may not see the service queue"):
        access.check_may_see_queue(ADVISOR, QueueName.SERVICE)
    access.check_may_claim(ADVISOR)
    for staff in (UNSKILLED, RESPONDER, ADMIN):
        with pytest.raises(Forbidden, match="tier-2 queues"):
            access.check_may_claim(staff)
    with pytest.raises(Forbidden, match="not skilled for the service queue"):
        access.check_serves_queue(ADVISOR, QueueName.SERVICE)


def test_escalating_from_the_queue_takes_a_supervisor() -> None:
    access.check_may_escalate(DUTY, QUEUED, CLIENT)
    with pytest.raises(Forbidden, match="only the client's supervisor"):
        access.check_may_escalate(ADVISOR, QUEUED, CLIENT)
    access.check_may_escalate(ADVISOR, WITH_ADV, CLIENT)
    with pytest.raises(Forbidden, match="does not hold"):
        access.check_may_escalate(SERVICE, WITH_ADV, CLIENT)


def test_moving_a_queued_conversation_takes_the_skill_or_a_supervisor() -> None:
    access.check_may_requeue(ADVISOR, QUEUED, CLIENT)
    access.check_may_requeue(ADMIN, QUEUED, CLIENT)
    with pytest.raises(Forbidden, match="may not move"):
        access.check_may_requeue(SERVICE, QUEUED, CLIENT)
    access.check_may_requeue(ADVISOR, WITH_ADV, CLIENT)
    with pytest.raises(Forbidden, match="does not hold"):
        access.check_may_requeue(SERVICE, WITH_ADV, CLIENT)
