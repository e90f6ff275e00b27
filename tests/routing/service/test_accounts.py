"""Account changes: token versions, and a disabled member's conversations going back through the ladder."""

from __future__ import annotations

import pytest

from routing.errors import Forbidden
from routing.models import Channel, ConversationState, EscalationReason, Presence, QueueName
from routing.service import RoutingService
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import SETTINGS, World, build_world

S = ConversationState


async def world() -> World:
    return await build_world(FakeRecord(), SETTINGS.model_copy(update={"always_open": True}))


async def escalated(service: RoutingService, client_id: str, reason: EscalationReason, queue: QueueName | None) -> str:
    conversation = await service.start_conversation(client_id, Channel.WIDGET)
    moved = await service.escalate_from_bot(conversation.id, reason, queue, "买什么基金好")
    return moved.id


async def test_password_changes_and_logout_everywhere_bump_the_token_version() -> None:
    w = await world()
    assert await w.service.accounts.change_password("svc1", "$argon2id$new", "svc1") == 1
    assert await w.record.get_password_hash("svc1") == "$argon2id$new"
    assert await w.service.accounts.sign_out_everywhere("svc1", "svc1") == 2
    assert isinstance(w.record, FakeRecord)
    actions = [entry.action for entry in w.record.audit_log]
    assert actions[-2:] == ["staff.password_change", "staff.logout_all"]


async def test_a_disabled_agent_goes_offline_and_their_conversation_is_requeued() -> None:
    w = await world()
    await w.online("adv1")
    conversation = await escalated(w.service, "c-std", EscalationReason.ADVICE_REQUEST, QueueName.ADVISOR)
    held = await w.service.get_conversation(conversation)
    assert (held.state, held.assignee_id) == (S.WITH_AGENT, "adv1")

    await w.online("adv2")  # a colleague online, but full (capacity 2)
    for client_id in ("c-gold", "c-other"):
        await escalated(w.service, client_id, EscalationReason.ADVICE_REQUEST, QueueName.ADVISOR)

    disabled = await w.service.accounts.disable("adv1", "admin")
    assert (disabled.requeued, disabled.passed_on, disabled.kept) == (1, 0, 0)
    assert not disabled.staff.active and disabled.staff.token_version == 1
    after = await w.service.get_conversation(conversation)
    assert (after.state, after.assignee_id, after.queue) == (S.QUEUED, None, QueueName.ADVISOR)
    assert await w.presence.presence("adv1") == Presence.OFFLINE

    await w.service.resolve("adv2", (await w.service.staff_conversations("adv2"))[0].id)  # a slot frees
    await w.service.tick()
    assert (await w.service.get_conversation(conversation)).assignee_id == "adv2"


async def test_a_disabled_agent_with_nobody_else_in_tier2_hands_over_to_tier3() -> None:
    w = await world()
    await w.online("adv1")
    conversation = await escalated(w.service, "c-std", EscalationReason.ADVICE_REQUEST, QueueName.ADVISOR)
    disabled = await w.service.accounts.disable("adv1", "admin")
    assert (disabled.requeued, disabled.passed_on, disabled.kept) == (0, 1, 0)
    after = await w.service.get_conversation(conversation)
    assert (after.state, after.assignee_id) == (S.AWAITING_RESPONDER, "r1")


async def test_a_disabled_responder_hands_tier3_work_to_the_next_rung_and_is_skipped_after() -> None:
    w = await world()
    conversation = await escalated(w.service, "c-std", EscalationReason.ASKED_HUMAN, None)  # nobody online: tier 3
    waiting = await w.service.get_conversation(conversation)
    assert (waiting.state, waiting.assignee_id) == (S.AWAITING_RESPONDER, "r1")
    await w.service.staff_reply("r1", conversation, "您好，我是孙经理")
    assert (await w.service.get_conversation(conversation)).state == S.WITH_RESPONDER

    disabled = await w.service.accounts.disable("r1", "admin")
    assert (disabled.requeued, disabled.passed_on, disabled.kept) == (0, 1, 0)
    passed = await w.service.get_conversation(conversation)
    assert (passed.state, passed.assignee_id) == (S.AWAITING_RESPONDER, "r2")

    with pytest.raises(Forbidden):  # not from WeCom either, where no staff token is checked
        await w.service.staff_reply("r1", conversation, "还在吗")
    later = await escalated(w.service, "c-gold", EscalationReason.ASKED_HUMAN, None)
    assert (await w.service.get_conversation(later)).assignee_id == "r2"  # the ladder skips the disabled responder
    await w.service.accounts.enable("r1", "admin")
    third = await escalated(w.service, "c-vip", EscalationReason.ASKED_HUMAN, None)
    assert (await w.service.get_conversation(third)).assignee_id == "r1"
