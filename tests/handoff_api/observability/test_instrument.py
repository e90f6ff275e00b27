"""Counting on publish, timing Rasa, counting turns by band."""

from __future__ import annotations

import pytest
from prometheus_client import generate_latest

from handoff_api.bot_client import BotPayload, BotUnavailable
from handoff_api.observability.instrument import CountingBot, CountingEventBus, TimedBot
from handoff_api.observability.metrics import Metrics, band_of
from routing.events import AgentJoined, Escalated, MessageAdded, Queued, RoutingEvent
from routing.memory import MemoryEventBus
from routing.service.reconcile import Repairs
from tests.handoff_api.observability.scrape import value


def rendered(metrics: Metrics) -> str:
    return generate_latest(metrics.registry).decode()


async def test_hand_overs_are_counted_as_they_are_published_and_still_delivered() -> None:
    metrics = Metrics()
    bus = CountingEventBus(MemoryEventBus(), metrics)
    subscription = await bus.subscribe()
    events: list[RoutingEvent] = [
        Queued("c1", "advisor", 1, reason="low_score"),
        Queued("c2", "service", 2),
        Escalated("c3", 3, "rsp01", "off_hours"),
        Escalated("c3", 3, "rsp02", "responder_timeout", step="backup"),
        AgentJoined("c1", "adv01", "张伟", 2),
        MessageAdded("c1", "m1", 1, "client", "你好", "2026-01-01T00:00:00+00:00"),
    ]
    for event in events:
        await bus.publish(event)
    assert [await subscription.next_event(1) for _ in events] == events
    await subscription.close()
    text = rendered(metrics)
    assert value(text, "tre_escalations_total", reason="low_score", queue="advisor", tier="2") == 1
    assert value(text, "tre_escalations_total", reason="unknown", queue="service", tier="2") == 1
    assert value(text, "tre_escalations_total", reason="off_hours", queue="responder", tier="3") == 1
    assert value(text, "tre_escalations_total", reason="responder_timeout", queue="responder", tier="3") is None
    assert value(text, "tre_responder_ladder_steps_total", step="backup") == 1
    assert value(text, "tre_agent_joins_total", tier="2") == 1


class Scripted:
    def __init__(self, payloads: list[BotPayload] | None = None, error: Exception | None = None) -> None:
        self.payloads = payloads or []
        self.error = error
        self.pinged = 0

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        if self.error is not None:
            raise self.error
        return self.payloads

    async def ping(self) -> bool:
        self.pinged += 1
        return True


async def test_rasa_calls_are_timed_by_outcome() -> None:
    metrics = Metrics()
    assert await TimedBot(Scripted([{"type": "text", "text": "您好"}]), metrics).send("c1", "你好")
    with pytest.raises(BotUnavailable):
        await TimedBot(Scripted(error=BotUnavailable("down")), metrics).send("c1", "你好")
    with pytest.raises(RuntimeError):
        await TimedBot(Scripted(error=RuntimeError("bug")), metrics).send("c1", "你好")
    inner = Scripted()
    assert await TimedBot(inner, metrics).ping() and inner.pinged == 1
    text = rendered(metrics)
    for outcome in ("ok", "unavailable", "error"):
        assert value(text, "tre_rasa_request_duration_seconds_count", outcome=outcome) == 1


async def test_turns_are_counted_by_the_band_of_their_reply() -> None:
    metrics = Metrics()
    answer = {"type": "answer", "band": "answer", "text": "…"}
    suggest = {"type": "suggestions", "band": "suggest", "text": "…"}
    for payloads in ([answer], [answer], [suggest], [{"type": "text", "text": "您好"}]):
        await CountingBot(Scripted(payloads), metrics).send("c1", "问题")
    text = rendered(metrics)
    assert value(text, "tre_bot_turns_total", band="answer") == 2
    assert value(text, "tre_bot_turns_total", band="suggest") == 1
    assert value(text, "tre_bot_turns_total", band="none") == 1


@pytest.mark.parametrize(
    ("payloads", "band"),
    [
        ([{"type": "text", "text": "Rasa 暂不可用", "degraded": True}, {"type": "answer", "band": "answer"}], "answer"),
        ([{"type": "escalate", "reason": "low_score"}], "escalate"),
        ([{"type": "suggestions", "band": "suggest"}, {"type": "escalate"}], "suggest"),
        ([{"type": "feedback", "resolved": True}], "none"),
        ([{"type": "answer"}], "none"),
        ([], "none"),
    ],
)
def test_band_of_a_turn(payloads: list[BotPayload], band: str) -> None:
    assert band_of(payloads) == band


def test_store_repairs_are_counted_by_kind() -> None:
    metrics = Metrics()
    metrics.count_repairs(Repairs(restored=2, loads=1))
    metrics.count_repairs(Repairs())
    metrics.count_repairs(Repairs(loads=3))
    text = rendered(metrics)
    assert value(text, "tre_store_repairs_total", kind="restored") == 2
    assert value(text, "tre_store_repairs_total", kind="loads") == 4
    assert value(text, "tre_store_repairs_total", kind="dropped") is None
