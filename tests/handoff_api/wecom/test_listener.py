"""The WeCom event listener on the shared realtime hub: typed events to the relay and the notifier, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from handoff_api.realtime import RESYNC, RealtimeHub
from handoff_api.wecom.listener import OrderedDispatcher, WeComEventListener, wanted
from handoff_api.wecom.tasks import BackgroundTaskSet
from routing.events import Closed, Escalated, MessageAdded, Queued
from routing.memory import ManualClock, MemoryEventBus

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def message(conversation_id: str, seq: int) -> MessageAdded:
    return MessageAdded(conversation_id, f"m{seq}", seq, "bot", f"答复 {seq}", NOW.isoformat())


def escalation(conversation_id: str) -> Escalated:
    return Escalated(conversation_id=conversation_id, tier=3, staff_id="rsp01", reason="advice_request")


@dataclass
class RecordingRelay:
    handled: list[MessageAdded] = field(default_factory=list)
    catch_ups: list[datetime] = field(default_factory=list)

    async def handle(self, event: MessageAdded) -> bool:
        self.handled.append(event)
        return True

    async def catch_up(self, since: datetime) -> int:
        self.catch_ups.append(since)
        return 0


@dataclass
class RecordingNotifier:
    handled: list[Escalated] = field(default_factory=list)

    async def handle(self, event: Escalated) -> object:
        self.handled.append(event)
        return None


async def eventually(probe: Callable[[], bool]) -> None:
    for _ in range(200):
        if probe():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")


def test_the_channel_wants_new_messages_and_escalations_only() -> None:
    assert wanted(message("c1", 1)) and wanted(escalation("c1"))
    assert not wanted(Queued(conversation_id="c1", queue="service", position=1))
    assert not wanted(Closed(conversation_id="c1"))


async def test_events_published_on_the_bus_reach_the_relay_and_the_notifier_through_the_hub() -> None:
    bus = MemoryEventBus()
    hub = RealtimeHub(bus)
    await hub.start()
    relay, notifier = RecordingRelay(), RecordingNotifier()
    listener = WeComEventListener(hub, relay, notifier, catch_up=timedelta(0), clock=ManualClock(NOW))
    listener.start()
    assert hub.listener_count == 1
    for event in (message("c1", 1), Queued(conversation_id="c1", queue="service", position=1), escalation("c1")):
        await bus.publish(event)
    await eventually(lambda: len(relay.handled) == 1 and len(notifier.handled) == 1)
    await listener.idle()
    assert relay.handled == [message("c1", 1)] and notifier.handled == [escalation("c1")]
    await listener.stop()
    assert hub.listener_count == 0
    await hub.stop()


async def test_a_resync_catches_up_on_replies_as_a_start_does() -> None:
    hub = RealtimeHub(MemoryEventBus())
    relay = RecordingRelay()
    clock = ManualClock(NOW)
    listener = WeComEventListener(hub, relay, RecordingNotifier(), catch_up=timedelta(hours=24), clock=clock)
    listener.start()
    await eventually(lambda: len(relay.catch_ups) == 1)  # at start: what a restart missed
    clock.advance(60)
    hub.dispatch(RESYNC)  # the hub's bus subscription broke: events may be lost
    await eventually(lambda: len(relay.catch_ups) == 2)
    assert relay.catch_ups == [NOW - timedelta(hours=24), NOW + timedelta(seconds=60) - timedelta(hours=24)]
    await listener.stop()


async def test_stopping_lets_the_queued_jobs_finish() -> None:
    hub = RealtimeHub(MemoryEventBus())
    relay = RecordingRelay()
    listener = WeComEventListener(hub, relay, RecordingNotifier(), catch_up=timedelta(0), clock=ManualClock(NOW))
    listener.start()
    for seq in range(1, 4):
        listener.dispatch(message("c1", seq))
    await listener.stop()
    assert [event.seq for event in relay.handled] == [1, 2, 3]


async def test_the_dispatcher_keeps_each_conversations_order_and_survives_failures() -> None:
    tasks = BackgroundTaskSet()
    dispatcher = OrderedDispatcher(tasks)
    seen: list[str] = []

    def job(name: str, delay: float, fail: bool = False) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await asyncio.sleep(delay)
            if fail:
                raise RuntimeError("boom")
            seen.append(name)

        return run

    dispatcher.submit("a", job("a1", 0.05))
    dispatcher.submit("b", job("b1", 0.0))
    dispatcher.submit("a", job("a2", 0.0, fail=True))
    dispatcher.submit("a", job("a3", 0.0))
    await tasks.join()
    assert seen.index("a1") < seen.index("a3") and seen[0] == "b1" and "a2" not in seen
    dispatcher.submit("a", job("a4", 0.0))  # a drained key starts afresh
    await tasks.join()
    assert seen[-1] == "a4"
