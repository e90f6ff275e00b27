"""Staff list shapes show as little personal data as the list needs."""

from __future__ import annotations

from datetime import UTC, datetime

from handoff_api.staff.schemas import QueueItemOut
from routing.models import EscalationReason, QueueName
from routing.service import QueueItem

NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def test_a_queue_line_masks_the_clients_name_id_and_the_numbers_in_the_question() -> None:
    item = QueueItem(
        ticket_id="t1",
        conversation_id="c1",
        queue=QueueName.SERVICE,
        position=1,
        priority=30,
        vip=True,
        client_id="C10001",
        client_name="陈晓明",
        client_tier="diamond",
        question="我的卡号6222021234567890123和手机13812345678绑不上",
        reason=EscalationReason.ASKED_HUMAN,
        enqueued_at=NOW,
        waiting_seconds=12.34,
    )
    shown = QueueItemOut.of(item)
    assert shown.client == {"id": "C10*01", "name": "陈*明", "tier": "diamond", "vip": True}
    assert shown.question == "我的卡号6222***********0123和手机138****5678绑不上"
    assert (shown.conversation_id, shown.ticket_id, shown.position, shown.waiting_seconds) == ("c1", "t1", 1, 12.3)
