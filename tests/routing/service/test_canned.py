"""Canned replies: offered per team, rendered for a conversation the staff member may see; supervisors edit."""

from __future__ import annotations

import pytest

from routing.audit import AuditAction
from routing.canned import CannedDraft, CannedTeam
from routing.errors import Forbidden, NotFound, ValidationFailed
from routing.models import Channel, EscalationReason, QueueName
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import World, build_world


@pytest.fixture
async def world() -> World:
    return await build_world(FakeRecord())


def log_of(world: World) -> FakeRecord:
    assert isinstance(world.record, FakeRecord)
    return world.record


async def served_by_adv1(world: World) -> str:
    await world.online("adv1")
    conversation = await world.service.start_conversation("c-std", Channel.WIDGET)
    await world.service.record_client_message(conversation.id, "基金怎么买")
    await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, QueueName.ADVISOR, "基金怎么买")
    return conversation.id


async def test_supervisors_add_change_and_remove_and_each_edit_is_audited(world: World) -> None:
    canned = world.service.canned
    created = await canned.create("dm", CannedDraft(CannedTeam.ADVISOR, " 开户 ", "{客户姓名}您好"))
    assert (created.title, created.updated_by) == ("开户", "dm")
    changed = await canned.update("admin", created.id, CannedDraft(CannedTeam.SERVICE, "开户", "您好"))
    assert (changed.team, changed.updated_by) == (CannedTeam.SERVICE, "admin")
    await canned.delete("dm", created.id)
    assert created.id not in {r.id for r in await canned.all_replies("dm")}
    actions = [(e.actor, e.action, e.subject) for e in log_of(world).audit_log if e.action.startswith("canned")]
    subject = f"canned_reply:{created.id}"
    assert actions == [
        ("dm", AuditAction.CANNED_REPLY_CREATED, subject),
        ("admin", AuditAction.CANNED_REPLY_UPDATED, subject),
        ("dm", AuditAction.CANNED_REPLY_DELETED, subject),
    ]


@pytest.mark.parametrize("staff_id", ["adv1", "svc1", "r1"])
async def test_others_cannot_edit(world: World, staff_id: str) -> None:
    canned = world.service.canned
    with pytest.raises(Forbidden):
        await canned.create(staff_id, CannedDraft(CannedTeam.ALL, "t", "x"))
    with pytest.raises(Forbidden):
        await canned.all_replies(staff_id)
    with pytest.raises(Forbidden):
        await canned.delete(staff_id, "canned-01")


async def test_unknown_variables_and_unknown_ids_are_refused(world: World) -> None:
    canned = world.service.canned
    with pytest.raises(ValidationFailed, match="unknown variable"):
        await canned.create("dm", CannedDraft(CannedTeam.ALL, "t", "{客户名}您好"))
    with pytest.raises(NotFound):
        await canned.update("dm", "nope", CannedDraft(CannedTeam.ALL, "t", "x"))
    with pytest.raises(NotFound):
        await canned.delete("dm", "nope")


async def test_each_team_is_offered_its_own_replies_and_the_shared_ones(world: World) -> None:
    canned = world.service.canned
    advisor = await canned.create("dm", CannedDraft(CannedTeam.ADVISOR, "投顾", "a"))
    responder = await canned.create("dm", CannedDraft(CannedTeam.RESPONDER, "专属", "r"))
    adv_ids = {r.id for r in await canned.offered("adv1")}
    svc_ids = {r.id for r in await canned.offered("svc1")}
    rsp_ids = {r.id for r in await canned.offered("r1")}
    assert advisor.id in adv_ids and "canned-01" in adv_ids and responder.id not in adv_ids
    assert advisor.id not in svc_ids and "canned-01" in svc_ids
    assert responder.id in rsp_ids and advisor.id not in rsp_ids


async def test_rendered_for_a_conversation_the_staff_member_may_see(world: World) -> None:
    canned = world.service.canned
    await canned.create("dm", CannedDraft(CannedTeam.ADVISOR, "问候", "{客户姓名}您好，我是{坐席姓名}，今天是{日期}"))
    conversation = await served_by_adv1(world)
    today = world.clock.now().astimezone(world.service.calendar.zone).date()
    rendered = {r.title: r.text for r in await canned.offered("adv1", conversation) if r.team == CannedTeam.ADVISOR}
    assert rendered == {"问候": f"张三您好，我是陈顾问，今天是{today.year}年{today.month}月{today.day}日"}
    with pytest.raises(Forbidden):
        await canned.offered("r2", conversation)  # neither holds it nor is the client's responder
