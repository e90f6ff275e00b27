"""The façade keeps the service's public surface and wiring: the methods the API calls, the stores it holds."""

from __future__ import annotations

import inspect

from routing.memory import MemoryPresenceStore, MemoryQueueStore
from routing.models import Channel, Conversation, EscalationReason, Presence, QueueName
from routing.service import RoutingService
from tests.routing.fakes import FakeRecord
from tests.routing.service_world import SETTINGS, build_world

USE_CASES = {
    # the client
    "open_conversation",
    "start_conversation",
    "resume_conversation",
    "client_typing",
    "get_conversation",
    "transcript",
    "record_client_message",
    "latest_client_texts",
    "next_question",
    "record_bot_replies",
    "escalate_from_bot",
    "rate_bot_answer",
    "client_feedback",
    # the staff
    "staff_reply",
    "claim",
    "resolve",
    "mark_unresolved",
    "escalate_to_responder",
    "transfer_to_queue",
    "transfer_to_staff",
    "reopen",
    "close",
    "staff_typing",
    "login_credentials",
    "set_presence",
    "heartbeat",
    # views
    "queue_view",
    "find_client",
    "clients",
    "find_staff",
    "staff_status",
    "colleagues",
    "conversation_view",
    "messages_after",
    "staff_conversations",
    "client_facts",
    "estimated_wait",
    # the audit log
    "audit",
    # background
    "tick",
    "rebuild_queues",
}


def test_every_use_case_is_an_async_method_of_the_facade() -> None:
    for name in USE_CASES:
        assert inspect.iscoroutinefunction(getattr(RoutingService, name)), name


async def test_the_stores_and_settings_are_readable() -> None:
    world = await build_world(FakeRecord())
    service = world.service
    assert service.record is world.record
    assert service.events is world.events
    assert (service.queues, service.presence, service.clock) == (world.queues, world.presence, world.clock)
    assert service.settings is SETTINGS
    assert service.calendar.zone.key == SETTINGS.timezone
    assert service.worker_id.startswith("w-")
    assert service.idempotency is not None


async def test_replacing_a_store_rewires_the_collaborators() -> None:
    world = await build_world(FakeRecord())
    fresh_presence = MemoryPresenceStore(world.clock)
    fresh_queues = MemoryQueueStore(world.clock)
    world.service.presence = fresh_presence
    world.service.queues = fresh_queues
    await world.service.set_presence("adv1", Presence.ONLINE)
    assert await fresh_presence.presence("adv1") == Presence.ONLINE
    assert await world.presence.presence("adv1") == Presence.OFFLINE
    served, waiting = [await escalate(world.service, client) for client in ("c-std", "c-gold")]
    assert served.assignee_id == "adv1" and await fresh_presence.load("adv1") == 1
    assert waiting.ticket_id is not None
    assert await fresh_queues.position(QueueName.ADVISOR, waiting.ticket_id) == 1
    assert await world.queues.length(QueueName.ADVISOR) == 0


async def escalate(service: RoutingService, client_id: str) -> Conversation:
    conversation = await service.start_conversation(client_id, Channel.WIDGET)
    return await service.escalate_from_bot(conversation.id, EscalationReason.LOW_SCORE, QueueName.ADVISOR, "股票")
