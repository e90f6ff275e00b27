"""The record's reporting side: ratings, the latest feedback and a report's source rows.

The same scenarios run on SqlRecord (SQLite and PostgreSQL) and on the fake record the service tests use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from routing.errors import AlreadyRated
from routing.models import Channel, ConversationState, QueueName, Tier, Transition
from routing.records import FeedbackEntry, Record, SatisfactionRating
from routing.sql_engine import create_engine_for
from routing.sql_record import SqlRecord
from tests.routing.conftest import BACKENDS
from tests.routing.fakes import FakeRecord
from tests.routing.test_sql_record import at, make_client, make_conversation, make_staff, make_ticket


@pytest.fixture(params=[*BACKENDS, "fake"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def record(backend: str, request: pytest.FixtureRequest) -> AsyncIterator[Record]:
    engine = None if backend == "fake" else create_engine_for(request.getfixturevalue("migrated_database_url"))
    chosen: Record = FakeRecord() if engine is None else SqlRecord(engine)
    await chosen.replace_staff([make_staff("r1")])
    await chosen.replace_clients([make_client("k1"), make_client("k2")])
    yield chosen
    if engine is not None:
        await engine.dispose()


def a_rating(conversation_id: str = "c1", score: int = 5, resolved_minute: float = 5) -> SatisfactionRating:
    return SatisfactionRating(
        conversation_id=conversation_id,
        score=score,
        channel=Channel.WECOM,
        tier=Tier.ONLINE,
        staff_id="a1",
        ticket_id="t1",
        queue=QueueName.ADVISOR,
        resolved_at=at(resolved_minute),
        at=at(resolved_minute + 1),
    )


def a_transfer(name: str, minute: float) -> Transition:
    state = ConversationState.WITH_AGENT
    return Transition("c1", name, state, state, "a1", Tier.ONLINE, "to a2", at(minute))


async def test_last_feedback_is_the_latest_answer(record: Record) -> None:
    await record.create_conversation(make_conversation("c1"))
    assert await record.last_feedback("c1") is None
    await record.add_feedback("c1", None, Tier.BOT, None, False, at(2))
    await record.add_feedback("c1", "t1", Tier.ONLINE, "a1", True, at(5))
    assert await record.last_feedback("c1") == FeedbackEntry("c1", "t1", Tier.ONLINE, "a1", True, at(5))
    assert await record.last_feedback("nobody") is None


async def test_one_rating_per_resolution(record: Record) -> None:
    await record.create_conversation(make_conversation("c1"))
    await record.add_rating(a_rating(score=4))
    with pytest.raises(AlreadyRated):
        await record.add_rating(a_rating(score=2))
    await record.add_rating(a_rating(score=2, resolved_minute=20))  # the next resolution may be rated
    source = await record.report_source(at(0), at(60))
    assert source.ratings == (a_rating(score=4), a_rating(score=2, resolved_minute=20))


async def test_report_source_takes_what_happened_in_the_span(record: Record) -> None:
    await record.create_conversation(make_conversation("c1"))
    await record.create_conversation(make_conversation("c-before", "k2", minute=-1))
    await record.open_ticket(make_ticket("t1", enqueued_at=at(1)))
    await record.open_ticket(make_ticket("t-late", "c-before", enqueued_at=at(60)))
    await record.add_feedback("c1", "t1", Tier.ONLINE, "a1", True, at(5))
    await record.add_feedback("c-before", None, Tier.BOT, None, True, at(-1))
    before = make_conversation("c1")
    queued = dataclasses.replace(before, state=ConversationState.QUEUED, tier=Tier.ONLINE, version=1)
    assigned = dataclasses.replace(queued, state=ConversationState.WITH_AGENT, version=2)
    await record.save_transition(before, queued, a_transfer("escalate_to_queue", 1))
    await record.save_transition(queued, assigned, a_transfer("transfer_agent", 3))
    await record.add_rating(a_rating())
    await record.add_rating(a_rating("c-before", resolved_minute=70))  # given after the span

    source = await record.report_source(at(0), at(60))
    assert [c.id for c in source.conversations] == ["c1"]
    assert [ticket.id for ticket in source.tickets] == ["t1"]
    assert source.feedback == (FeedbackEntry("c1", "t1", Tier.ONLINE, "a1", True, at(5)),)
    assert source.transfers == (a_transfer("transfer_agent", 3),)  # only transfers
    assert source.ratings == (a_rating(),)


async def record_two_branches(record: Record) -> None:
    """In the span: c1 (k1, 上海分公司) and c-bj (k-bj, 北京分公司), each with a ticket, feedback, a transfer
    and a rating."""
    await record.replace_clients([make_client("k1"), make_client("k2"), make_client("k-bj", branch="北京分公司")])
    for conversation_id, client_id in (("c1", "k1"), ("c-bj", "k-bj")):
        before = make_conversation(conversation_id, client_id)
        await record.create_conversation(before)
        await record.open_ticket(make_ticket(f"t-{conversation_id}", conversation_id, client_id=client_id))
        await record.add_feedback(conversation_id, None, Tier.BOT, None, True, at(2))
        moved = dataclasses.replace(before, state=ConversationState.WITH_AGENT, tier=Tier.ONLINE, version=1)
        move = dataclasses.replace(a_transfer("transfer_agent", 3), conversation_id=conversation_id)
        await record.save_transition(before, moved, move)
        await record.add_rating(a_rating(conversation_id))


async def test_report_source_and_activity_keep_to_a_branch_when_given(record: Record) -> None:
    await record_two_branches(record)
    firm = await record.report_source(at(0), at(60))
    beijing = await record.report_source(at(0), at(60), "北京分公司")
    nowhere = await record.report_source(at(0), at(60), "广州分公司")
    assert {c.id for c in firm.conversations} == {"c1", "c-bj"}
    assert [c.id for c in beijing.conversations] == ["c-bj"]
    assert [ticket.id for ticket in beijing.tickets] == ["t-c-bj"]
    assert [entry.conversation_id for entry in beijing.feedback] == ["c-bj"]
    assert [move.conversation_id for move in beijing.transfers] == ["c-bj"]
    assert [rating.conversation_id for rating in beijing.ratings] == ["c-bj"]
    assert (len(firm.tickets), len(firm.feedback), len(firm.transfers), len(firm.ratings)) == (2, 2, 2, 2)
    assert nowhere == type(nowhere)((), (), (), (), ())

    shanghai = await record.activity_between(at(0), at(60), "上海分公司")
    assert (shanghai.conversations, shanghai.bot_resolved, [t.id for t in shanghai.tickets]) == (1, 1, ["t-c1"])
    everyone = await record.activity_between(at(0), at(60))
    assert (everyone.conversations, everyone.bot_resolved, len(everyone.tickets)) == (2, 2, 2)
