"""Compliance search and export: compliance staff and admins only, each use audited, who served on every line."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routing.audit import AuditAction
from routing.compliance import ConversationQuery
from routing.errors import Forbidden, NotFound, ValidationFailed
from routing.models import Channel, EscalationReason, QueueName, Role, SenderKind, Staff, Tier
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import BRANCH, World, build_world

OFFICER = Staff("cmp1", "林合规", Role.COMPLIANCE, frozenset(), 1, BRANCH)


@pytest.fixture
async def world() -> World:
    built = await build_world(FakeRecord())
    await built.record.replace_staff([OFFICER])
    return built


def log_of(world: World) -> FakeRecord:
    assert isinstance(world.record, FakeRecord)
    return world.record


async def served(world: World) -> str:
    """A conversation where adv1 answered: the client asked, the bot escalated, the advisor replied."""
    await world.online("adv1")
    conversation = await world.service.start_conversation("c-std", Channel.WIDGET)
    await world.service.record_client_message(conversation.id, "基金怎么买，我的手机13812345678")
    await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, QueueName.ADVISOR, "基金怎么买")
    await world.service.staff_reply("adv1", conversation.id, "您可以在App基金频道申购")
    return conversation.id


def around_now(world: World, **changes: object) -> ConversationQuery:
    now = world.clock.now()
    values: dict[str, object] = {"start": now - timedelta(days=1), "end": now + timedelta(days=1)}
    values.update(changes)
    return ConversationQuery(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("staff_id", ["cmp1", "admin"])
async def test_compliance_and_admins_search_and_each_search_is_audited(world: World, staff_id: str) -> None:
    conversation = await served(world)
    found = await world.service.compliance.search(staff_id, around_now(world, staff_id="adv1", text="基金"), "基金")
    assert [h.conversation.id for h in found.hits] == [conversation] and found.total == 1
    entry = log_of(world).audit_log[-1]
    assert (entry.actor, entry.action, entry.subject) == (staff_id, AuditAction.COMPLIANCE_SEARCH, "conversations")
    assert (entry.detail["staff_id"], entry.detail["text"], entry.detail["hits"]) == ("adv1", "基金", 1)


@pytest.mark.parametrize("staff_id", ["adv1", "svc1", "r1", "dm"])
async def test_staff_who_serve_cannot_search_or_export(world: World, staff_id: str) -> None:
    conversation = await served(world)
    before = len(log_of(world).audit_log)
    with pytest.raises(Forbidden):
        await world.service.compliance.search(staff_id, around_now(world))
    with pytest.raises(Forbidden):
        await world.service.compliance.export(staff_id, conversation, "csv")
    assert len(log_of(world).audit_log) == before


async def test_the_range_is_capped_and_checked(world: World) -> None:
    now = world.clock.now()
    span = world.service.compliance.max_span
    with pytest.raises(ValidationFailed, match="at most"):
        await world.service.compliance.search("cmp1", ConversationQuery(now - span - timedelta(days=1), now))
    with pytest.raises(ValidationFailed, match="after"):
        await world.service.compliance.search("cmp1", ConversationQuery(now, now - timedelta(hours=1)))


async def test_the_page_size_comes_from_the_settings(world: World) -> None:
    await served(world)
    found = await world.service.compliance.search("cmp1", around_now(world, page_size=999))
    assert found.page_size == world.service.settings.compliance_page_size


async def test_export_names_who_served_each_answer_in_the_branch_zone_and_is_audited(world: World) -> None:
    conversation = await served(world)
    export = await world.service.compliance.export("cmp1", conversation, "json")
    assert export.client.id == "c-std"
    first = export.lines[0]
    assert (first.sender, first.text, first.staff_name) == (SenderKind.CLIENT, "基金怎么买，我的手机13812345678", None)
    assert first.at.utcoffset() == timedelta(hours=8)
    answer = next(line for line in export.lines if line.sender == SenderKind.AGENT)
    assert (answer.tier, answer.staff_id, answer.staff_name, answer.practice_number) == (
        Tier.ONLINE,
        "adv1",
        "陈顾问",
        "S1234567",
    )
    entry = log_of(world).audit_log[-1]
    assert (entry.action, entry.subject) == (AuditAction.DATA_EXPORT, f"conversation:{conversation}")
    assert entry.detail == {"format": "json", "messages": len(export.lines), "client_id": "c-std"}


async def test_export_of_an_unknown_conversation_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        await world.service.compliance.export("cmp1", "nope", "csv")
