"""The wait estimate's inputs are read once per queue and cache window, not once per waiting client."""

from __future__ import annotations

from collections import Counter

from routing.models import Channel, EscalationReason, QueueName
from routing.records import Record
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import SETTINGS, World, build_world

ADVISOR = QueueName.ADVISOR


async def waiting_world(record: Record, cache_seconds: float) -> tuple[World, list[str], Counter[str]]:
    world = await build_world(record, SETTINGS.model_copy(update={"wait_estimate_cache_seconds": cache_seconds}))
    await world.online("adv1")
    await world.presence.set_load("adv1", 1)  # online but busy: every escalation waits
    waiting = []
    for client_id in ("c-std", "c-gold", "c-other"):
        conversation = await world.service.start_conversation(client_id, Channel.WIDGET)
        queued = await world.service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, ADVISOR, "股票")
        waiting.append(queued.id)
    reads: Counter[str] = Counter()
    real = record.recent_handle_seconds

    async def counted(queue: QueueName, limit: int = 50) -> list[float]:
        reads[queue.value] += 1
        return await real(queue, limit)

    record.recent_handle_seconds = counted  # type: ignore[method-assign]
    return world, waiting, reads


async def test_every_waiting_client_shares_one_read_per_window() -> None:
    world, waiting, reads = await waiting_world(FakeRecord(), 2.0)
    estimates = [(await world.service.client_facts(c)).estimated_wait_seconds for c in waiting * 3]
    assert reads == {"advisor": 1}
    assert all(estimate is not None for estimate in estimates)
    world.clock.advance(2.5)
    await world.service.client_facts(waiting[0])
    assert reads == {"advisor": 2}


async def test_no_window_reads_every_time() -> None:
    world, waiting, reads = await waiting_world(FakeRecord(), 0.0)
    for conversation_id in waiting:
        await world.service.client_facts(conversation_id)
    assert reads == {"advisor": 3}
