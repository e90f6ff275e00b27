"""Row mappers: every model survives the trip to its row and back (no database needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from routing import sql_rows
from routing.models import (
    Channel,
    Client,
    Conversation,
    ConversationState,
    EscalationReason,
    Message,
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

AT = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)


def as_row(values: dict[str, Any]) -> Any:
    """A fetched row stand-in: the columns as attributes."""
    return SimpleNamespace(**values)


def test_skills_are_stored_sorted_and_read_back() -> None:
    skills = frozenset({QueueName.SERVICE, QueueName.ADVISOR})
    assert sql_rows.skills_to_text(skills) == "advisor|service"
    assert sql_rows.skills_from_text("advisor|service") == skills
    assert sql_rows.skills_from_text("") == frozenset()


def test_directory_round_trips() -> None:
    client = Client("k1", "客户", "黄金", True, "上海", "r1", wecom_id="wm-1")
    staff = Staff("a1", "顾问", Role.ADVISOR, frozenset({QueueName.ADVISOR}), 3, "上海", "S1", "a2", "wu1")
    assert sql_rows.client_from_row(as_row(sql_rows.client_to_row(client))) == client
    stored = {**sql_rows.staff_to_row(staff), "token_version": 0}  # the column imports never write
    assert sql_rows.staff_from_row(as_row(stored)) == staff


def test_conversation_and_transition_round_trip() -> None:
    conversation = Conversation(
        "c1",
        "k1",
        Channel.WIDGET,
        ConversationState.QUEUED,
        Tier.ONLINE,
        AT,
        AT,
        queue=QueueName.SERVICE,
        ticket_id="t1",
        escalation_reason=EscalationReason.LOW_SCORE,
        version=3,
    )
    transition = Transition(
        "c1", "assign", ConversationState.QUEUED, ConversationState.WITH_AGENT, "a1", Tier.ONLINE, "claimed", AT
    )
    assert sql_rows.conversation_from_row(as_row(sql_rows.conversation_to_row(conversation))) == conversation
    assert sql_rows.transition_from_row(as_row(sql_rows.transition_to_row(transition))) == transition


def test_message_keeps_who_served() -> None:
    served = Message("m1", "c1", 2, SenderKind.AGENT, "您好", AT, {"k": 1}, ServedBy(Tier.ONLINE, "a1", AT))
    from_bot = Message("m2", "c1", 3, SenderKind.BOT, "答", AT, {}, None)
    for message in (served, from_bot):
        assert sql_rows.message_from_row(as_row(sql_rows.message_to_row(message))) == message


def test_ticket_round_trip_with_the_ladder_fields() -> None:
    ticket = Ticket(
        "t1",
        "c1",
        "k1",
        Tier.RESPONDER,
        EscalationReason.WAIT_LIMIT,
        "问题",
        AT,
        status=TicketStatus.ASSIGNED,
        assigned_to="r1",
        assigned_at=AT,
        responder_step=ResponderStep.BACKUP,
        responder_deadline=AT,
    )
    assert sql_rows.ticket_from_row(as_row(sql_rows.ticket_to_row(ticket))) == ticket
