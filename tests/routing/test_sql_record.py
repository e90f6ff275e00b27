"""SqlRecord against SQLite and PostgreSQL (the `sql_record` fixture runs each test on both)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from routing import sql_tables as t
from routing.errors import DuplicateClientMessage, NotFound, StaleConversation
from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    QueueName,
    ResponderStep,
    Role,
    SenderKind,
    ServedBy,
    Staff,
    Ticket,
    TicketStatus,
    Tier,
    Transition,
)
from routing.records import Record
from routing.sql_record import SqlRecord
from tests.routing.fakes import FakeRecord

T0 = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_staff(staff_id: str, role: Role = Role.ADVISOR, branch: str = "上海分公司", **changes: object) -> Staff:
    member = Staff(
        id=staff_id,
        name=f"员工{staff_id}",
        role=role,
        skills=frozenset({QueueName.ADVISOR}) if role is Role.ADVISOR else frozenset(),
        max_concurrency=5,
        branch=branch,
    )
    return dataclasses.replace(member, **changes)  # type: ignore[arg-type]


def make_client(client_id: str, **changes: object) -> Client:
    client = Client(
        id=client_id, name=f"客户{client_id}", tier="黄金", vip=False, branch="上海分公司", responder_id="r1"
    )
    return dataclasses.replace(client, **changes)  # type: ignore[arg-type]


def make_conversation(conversation_id: str = "c1", client_id: str = "k1", minute: float = 0) -> Conversation:
    return Conversation(
        id=conversation_id,
        client_id=client_id,
        channel=Channel.WIDGET,
        state=ConversationState.BOT,
        tier=Tier.BOT,
        created_at=at(minute),
        updated_at=at(minute),
    )


def make_ticket(ticket_id: str, conversation_id: str = "c1", **changes: object) -> Ticket:
    ticket = Ticket(
        id=ticket_id,
        conversation_id=conversation_id,
        client_id="k1",
        tier=Tier.ONLINE,
        reason=EscalationReason.LOW_SCORE,
        question="科创板开通条件是什么？",
        enqueued_at=at(1),
        queue=QueueName.SERVICE,
    )
    return dataclasses.replace(ticket, **changes)  # type: ignore[arg-type]


def queued(before: Conversation, minute: float = 1) -> tuple[Conversation, Transition]:
    after = dataclasses.replace(
        before,
        state=ConversationState.QUEUED,
        tier=Tier.ONLINE,
        queue=QueueName.SERVICE,
        ticket_id="t1",
        escalation_reason=EscalationReason.LOW_SCORE,
        updated_at=at(minute),
        version=before.version + 1,
    )
    transition = Transition(
        conversation_id=before.id,
        name="escalate",
        from_state=before.state,
        to_state=after.state,
        actor="bot",
        tier=Tier.ONLINE,
        reason="low_score",
        at=at(minute),
    )
    return after, transition


@pytest.fixture
async def record(sql_record: SqlRecord) -> SqlRecord:
    await sql_record.replace_staff([make_staff("r1", Role.RESPONDER)])
    await sql_record.replace_clients([make_client("k1"), make_client("k2", wecom_id="wm-k2")])
    return sql_record


# --- directory ---


async def test_clients_round_trip_and_upsert(record: SqlRecord) -> None:
    assert await record.get_client("k1") == make_client("k1")
    assert await record.get_client("nobody") is None
    assert await record.get_client_by_wecom("wm-k2") == make_client("k2", wecom_id="wm-k2")
    assert await record.get_client_by_wecom("wm-none") is None

    renamed = make_client("k1", name="王芳", vip=True, tier="钻石")
    await record.replace_clients([renamed, make_client("k3")])
    assert await record.get_client("k1") == renamed
    assert [client.id for client in await record.list_clients()] == ["k1", "k2", "k3"]


async def test_staff_round_trip_roles_and_duty_manager(record: SqlRecord) -> None:
    advisor = make_staff(
        "a1",
        skills=frozenset({QueueName.ADVISOR, QueueName.SERVICE}),
        practice_number="S0570120080012",
        backup_id="a2",
        wecom_user_id="zhangwei",
    )
    await record.replace_staff(
        [
            advisor,
            make_staff("a2"),
            make_staff("dm-bj", Role.DUTY_MANAGER, branch="北京分公司"),
            make_staff("dm-sh2", Role.DUTY_MANAGER),
            make_staff("dm-sh1", Role.DUTY_MANAGER),
        ]
    )
    assert await record.get_staff("a1") == advisor
    assert await record.get_staff("nobody") is None
    assert [m.id for m in await record.list_staff()] == ["a1", "a2", "dm-bj", "dm-sh1", "dm-sh2", "r1"]
    assert [m.id for m in await record.list_staff(Role.DUTY_MANAGER)] == ["dm-bj", "dm-sh1", "dm-sh2"]
    duty = await record.duty_manager("上海分公司")
    assert duty is not None and duty.id == "dm-sh1"
    assert await record.duty_manager("广州分公司") is None


async def test_password_hash_is_kept_across_staff_upserts(record: SqlRecord) -> None:
    assert await record.get_password_hash("r1") is None
    await record.set_password_hash("r1", "$argon2id$fake")
    await record.replace_staff([make_staff("r1", Role.RESPONDER, name="新名字")])
    assert await record.get_password_hash("r1") == "$argon2id$fake"
    assert await record.get_password_hash("nobody") is None
    with pytest.raises(NotFound):
        await record.set_password_hash("nobody", "x")


async def test_empty_replace_is_a_no_op(record: SqlRecord) -> None:
    await record.replace_clients([])
    await record.replace_staff([])
    assert len(await record.list_clients()) == 2


# --- conversations ---


async def test_conversation_round_trip_keeps_utc(record: SqlRecord) -> None:
    shanghai = timezone(timedelta(hours=8))
    conversation = dataclasses.replace(make_conversation(), created_at=at(0).astimezone(shanghai))
    await record.create_conversation(conversation)
    stored = await record.get_conversation("c1")
    assert stored == conversation
    assert stored is not None and stored.created_at.utcoffset() == timedelta(0)
    assert await record.get_conversation("nope") is None


async def test_naive_datetimes_are_refused(record: SqlRecord) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await record.create_conversation(dataclasses.replace(make_conversation(), created_at=datetime(2025, 1, 1)))


async def test_conversation_needs_a_known_client(record: SqlRecord) -> None:
    with pytest.raises(IntegrityError):
        await record.create_conversation(make_conversation(client_id="ghost"))


async def test_save_transition_writes_after_and_appends_transition(record: SqlRecord) -> None:
    before = make_conversation()
    await record.create_conversation(before)
    after, transition = queued(before)
    await record.save_transition(before, after, transition)
    assert await record.get_conversation("c1") == after
    assert await record.list_transitions("c1") == [transition]

    closing = dataclasses.replace(after, state=ConversationState.CLOSED, version=after.version + 1)
    second = dataclasses.replace(transition, name="close", from_state=after.state, to_state=closing.state)
    await record.save_transition(after, closing, second)
    assert await record.list_transitions("c1") == [transition, second]
    stored = await record.get_conversation("c1")
    assert stored is not None and stored.version == 2


async def test_stale_save_transition_raises_and_changes_nothing(record: SqlRecord) -> None:
    before = make_conversation()
    await record.create_conversation(before)
    after, transition = queued(before)
    await record.save_transition(before, after, transition)

    with pytest.raises(StaleConversation):
        await record.save_transition(before, after, transition)
    assert await record.get_conversation("c1") == after
    assert len(await record.list_transitions("c1")) == 1


async def test_concurrent_save_transitions_let_exactly_one_win(record: SqlRecord) -> None:
    before = make_conversation()
    await record.create_conversation(before)
    after, transition = queued(before)
    results = await asyncio.gather(
        *(record.save_transition(before, after, transition) for _ in range(10)), return_exceptions=True
    )
    assert sum(result is None for result in results) == 1
    assert all(isinstance(result, StaleConversation) for result in results if result is not None)
    assert len(await record.list_transitions("c1")) == 1


async def test_save_transition_of_unknown_conversation_or_mismatched_ids(record: SqlRecord) -> None:
    ghost = make_conversation("ghost")
    after, transition = queued(ghost)
    with pytest.raises(NotFound):
        await record.save_transition(ghost, after, transition)
    with pytest.raises(ValueError, match="same conversation"):
        await record.save_transition(ghost, dataclasses.replace(after, id="other"), transition)
    with pytest.raises(ValueError, match="version"):
        await record.save_transition(ghost, dataclasses.replace(after, version=7), transition)


async def test_conversations_in_states_and_active_count(record: SqlRecord) -> None:
    await record.replace_clients([make_client(f"k-{index}") for index in range(6)])  # one open conversation each
    for index, (state, assignee) in enumerate(
        [
            (ConversationState.BOT, None),
            (ConversationState.WITH_AGENT, "a1"),
            (ConversationState.WITH_RESPONDER, "a1"),
            (ConversationState.QUEUED, None),
            (ConversationState.CLOSED, "a1"),
            (ConversationState.WITH_AGENT, "a2"),
        ]
    ):
        conversation = dataclasses.replace(
            make_conversation(f"c{index}", f"k-{index}", minute=10 - index), state=state, assignee_id=assignee
        )
        await record.create_conversation(conversation)
    found = await record.conversations_in_states({ConversationState.WITH_AGENT, ConversationState.QUEUED})
    assert [c.id for c in found] == ["c5", "c3", "c1"]  # oldest first
    assert await record.conversations_in_states([]) == []
    assert await record.active_count("a1") == 2
    assert await record.active_count("a2") == 1
    assert await record.active_count("nobody") == 0


# --- messages ---


async def test_append_and_list_messages(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation())
    first = await record.append_message("c1", SenderKind.CLIENT, "怎么开通科创板？", {}, None, at(1))
    served = ServedBy(tier=Tier.BOT, staff_id=None, at=at(2))
    payload: dict[str, object] = {
        "kind": "answer",
        "faq_id": "kcb-001",
        "score": 0.91,
        "nested": {"a": [1, 2]},
    }
    second = await record.append_message("c1", SenderKind.BOT, "开通科创板需要……", payload, served, at(2))
    third = await record.append_message(
        "c1", SenderKind.AGENT, "您好", {}, ServedBy(tier=Tier.ONLINE, staff_id="a1", at=at(3)), at(3)
    )
    assert [first.seq, second.seq, third.seq] == [1, 2, 3]
    assert await record.list_messages("c1") == [first, second, third]
    assert await record.list_messages("c1", after_seq=1) == [second, third]
    assert await record.list_messages("c1", after_seq=1, limit=1) == [second]
    assert await record.list_messages("other") == []
    stored = (await record.list_messages("c1"))[1]
    assert stored.payload == payload and stored.served_by == served


async def test_latest_messages_are_the_newest_in_seq_order(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation())
    stored = []
    for number in range(1, 8):
        sender = SenderKind.CLIENT if number % 2 else SenderKind.BOT
        stored.append(await record.append_message("c1", sender, f"第{number}条", {}, None, at(number)))
    assert await record.latest_messages("c1", limit=3) == stored[-3:]
    assert [m.text for m in await record.latest_messages("c1", limit=2, sender=SenderKind.CLIENT)] == ["第5条", "第7条"]
    assert await record.latest_messages("c1", limit=100) == stored
    assert await record.latest_messages("other") == []
    assert await record.latest_messages("c1", limit=2, before_seq=4) == stored[1:3]
    assert await record.latest_messages("c1", limit=5, before_seq=3) == stored[:2]
    assert await record.latest_messages("c1", before_seq=1) == []


async def test_append_message_to_unknown_conversation(record: SqlRecord) -> None:
    with pytest.raises(NotFound):
        await record.append_message("ghost", SenderKind.CLIENT, "hi", {}, None, at(1))


async def test_concurrent_appends_get_distinct_consecutive_seqs(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation("c1"))
    await record.create_conversation(make_conversation("c2", "k2"))
    appends = [
        record.append_message(f"c{1 + index % 2}", SenderKind.CLIENT, f"消息{index}", {"i": index}, None, at(index))
        for index in range(50)
    ]
    messages = await asyncio.gather(*appends)
    for conversation_id in ("c1", "c2"):
        seqs = sorted(m.seq for m in messages if m.conversation_id == conversation_id)
        assert seqs == list(range(1, 26))
        assert [m.seq for m in await record.list_messages(conversation_id)] == list(range(1, 26))


async def test_a_client_message_id_is_stored_once_per_conversation(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation("c1"))
    await record.create_conversation(make_conversation("c2", "k2"))
    first = await record.append_message("c1", SenderKind.CLIENT, "在吗", {}, None, at(1), client_msg_id="m-1")
    await record.append_message("c1", SenderKind.BOT, "您好", {}, None, at(2))
    with pytest.raises(DuplicateClientMessage) as resent:
        await record.append_message("c1", SenderKind.CLIENT, "在吗", {}, None, at(3), client_msg_id="m-1")
    assert resent.value.existing == first and first.client_msg_id == "m-1"
    elsewhere = await record.append_message("c2", SenderKind.CLIENT, "在吗", {}, None, at(3), client_msg_id="m-1")
    assert elsewhere.seq == 1
    untagged = [await record.append_message("c1", SenderKind.CLIENT, "在吗", {}, None, at(4)) for _ in range(2)]
    assert [m.seq for m in untagged] == [3, 4]
    assert [m.client_msg_id for m in await record.list_messages("c1")] == ["m-1", None, None, None]


async def test_concurrent_resends_store_one_message(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation("c1"))
    attempts = [
        record.append_message("c1", SenderKind.CLIENT, "在吗", {}, None, at(1), client_msg_id="m-1") for _ in range(8)
    ]
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    stored = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(stored) == 1
    refused = [o for o in outcomes if o is not stored[0]]
    assert all(isinstance(o, DuplicateClientMessage) and o.existing == stored[0] for o in refused)
    assert len(await record.list_messages("c1")) == 1


# --- tickets ---


async def test_ticket_round_trip_and_update(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation())
    ticket = make_ticket("t1", vip=True, priority=10)
    await record.open_ticket(ticket)
    assert await record.get_ticket("t1") == ticket
    assert await record.get_ticket("nope") is None

    assigned = dataclasses.replace(
        ticket,
        status=TicketStatus.ASSIGNED,
        assigned_to="a1",
        assigned_at=at(2),
        first_response_at=at(3),
        responder_step=ResponderStep.BACKUP,
        responder_deadline=at(30),
    )
    await record.update_ticket(assigned)
    assert await record.get_ticket("t1") == assigned
    with pytest.raises(NotFound):
        await record.update_ticket(make_ticket("ghost"))


async def test_open_tickets_by_priority_then_age(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation())
    await record.open_ticket(make_ticket("old-normal", enqueued_at=at(1)))
    await record.open_ticket(make_ticket("new-vip", enqueued_at=at(5), priority=10, vip=True))
    await record.open_ticket(make_ticket("new-normal", enqueued_at=at(3)))
    await record.open_ticket(make_ticket("assigned", enqueued_at=at(0), status=TicketStatus.ASSIGNED))
    await record.open_ticket(make_ticket("done", status=TicketStatus.RESOLVED))
    await record.open_ticket(make_ticket("up", status=TicketStatus.ESCALATED))
    tier3 = make_ticket("tier3", queue=None, tier=Tier.RESPONDER, responder_step=ResponderStep.RESPONDER)
    await record.open_ticket(tier3)
    assert [ticket.id for ticket in await record.open_tickets()] == [
        "new-vip",
        "assigned",
        "old-normal",
        "tier3",
        "new-normal",
    ]
    assert (await record.tickets_for_conversation("c1"))[0].id == "assigned"
    assert len(await record.tickets_for_conversation("c1")) == 7


async def test_recent_handle_seconds(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation())
    for index, minutes in enumerate([2, 5, 1]):
        await record.open_ticket(
            make_ticket(
                f"t{index}",
                status=TicketStatus.RESOLVED,
                assigned_at=at(10 * index),
                resolved_at=at(10 * index + minutes),
            )
        )
    await record.open_ticket(make_ticket("open", assigned_at=at(0)))
    await record.open_ticket(
        make_ticket(
            "advisor",
            queue=QueueName.ADVISOR,
            status=TicketStatus.RESOLVED,
            assigned_at=at(0),
            resolved_at=at(9),
        )
    )
    assert await record.recent_handle_seconds(QueueName.SERVICE) == [60.0, 300.0, 120.0]
    assert await record.recent_handle_seconds(QueueName.SERVICE, limit=2) == [60.0, 300.0]
    assert await record.recent_handle_seconds(QueueName.ADVISOR) == [540.0]


# --- feedback and audit ---


async def test_feedback_is_stored(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation())
    await record.add_feedback("c1", "t1", Tier.ONLINE, "a1", True, at(5))
    await record.add_feedback("c1", None, Tier.BOT, None, False, at(6))
    async with record.engine.connect() as conn:
        rows = (await conn.execute(select(t.feedback).order_by(t.feedback.c.id))).all()
    assert [(r.ticket_id, r.tier, r.staff_id, r.resolved) for r in rows] == [
        ("t1", 2, "a1", True),
        (None, 1, None, False),
    ]
    assert rows[0].at == at(5)


async def record_an_hour_of_activity(record: Record) -> None:
    """Conversations, feedback and tickets inside [at(0), at(60)) and just outside it."""
    for conversation_id, minute, channel in (("c1", 0, Channel.WIDGET), ("c-before", -1, Channel.API)):
        await record.create_conversation(
            dataclasses.replace(make_conversation(conversation_id, minute=minute), channel=channel)
        )
    await record.create_conversation(make_conversation("c-after", "k2", minute=60))
    await record.add_feedback("c1", None, Tier.BOT, None, True, at(5))
    await record.add_feedback("c1", None, Tier.BOT, None, False, at(6))  # not resolved
    await record.add_feedback("c1", "t1", Tier.ONLINE, "a1", True, at(7))  # not the bot
    await record.add_feedback("c-after", None, Tier.BOT, None, True, at(60))  # after the span
    await record.open_ticket(make_ticket("t2", enqueued_at=at(2), tier=Tier.RESPONDER, queue=None))
    await record.open_ticket(make_ticket("t1", enqueued_at=at(1)))
    await record.open_ticket(make_ticket("t-before", "c-before", enqueued_at=at(-5)))


async def check_an_hour_of_activity(record: Record) -> None:
    activity = await record.activity_between(at(0), at(60))
    assert (activity.conversations, activity.bot_resolved) == (1, 1)
    assert [ticket.id for ticket in activity.tickets] == ["t1", "t2"]  # oldest first
    assert activity.tickets[1] == make_ticket("t2", enqueued_at=at(2), tier=Tier.RESPONDER, queue=None)
    empty = await record.activity_between(at(-60), at(-30))
    assert (empty.conversations, empty.bot_resolved, empty.tickets) == (0, 0, ())


async def test_activity_between_counts_what_happened_in_the_span(record: SqlRecord) -> None:
    await record_an_hour_of_activity(record)
    await check_an_hour_of_activity(record)


async def test_the_fake_record_counts_activity_like_sql() -> None:
    fake = FakeRecord()
    await record_an_hour_of_activity(fake)
    await check_an_hour_of_activity(fake)


async def test_audit_is_append_only(record: SqlRecord) -> None:
    detail: dict[str, object] = {"from": "advisor", "to": "service", "count": 2}
    await record.audit("admin1", "import_staff", "staff", detail, at(1))
    async with record.engine.connect() as conn:
        row = (await conn.execute(select(t.audit_log))).one()
    assert (row.actor, row.action, row.subject, row.detail, row.at) == (
        "admin1",
        "import_staff",
        "staff",
        detail,
        at(1),
    )

    async with record.engine.begin() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            await conn.execute(update(t.audit_log).values(actor="someone else"))
    async with record.engine.begin() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            await conn.execute(delete(t.audit_log))
    if record.engine.dialect.name == "postgresql":
        async with record.engine.begin() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("TRUNCATE audit_log"))
    assert not hasattr(record, "delete_audit")
    async with record.engine.connect() as conn:
        assert (await conn.execute(select(t.audit_log.c.actor))).scalars().all() == ["admin1"]


async def test_the_database_refuses_a_rating_out_of_range(record: SqlRecord) -> None:
    await record.create_conversation(make_conversation("c1"))
    row = {"conversation_id": "c1", "score": 6, "channel": "widget", "tier": 2, "resolved_at": at(1), "at": at(2)}
    with pytest.raises(IntegrityError):
        async with record.engine.begin() as conn:
            await conn.execute(t.satisfaction_ratings.insert().values(row))
