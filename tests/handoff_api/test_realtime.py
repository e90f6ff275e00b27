"""The per-process fan-out from the event bus to local listeners."""

from __future__ import annotations

import asyncio
import contextlib

from handoff_api.realtime import RESYNC, STOP, RealtimeHub, finish_then_cancel
from routing.events import Closed, conversation_of
from routing.memory import MemoryEventBus


async def test_each_listener_gets_what_its_filter_accepts() -> None:
    bus = MemoryEventBus()
    hub = RealtimeHub(bus)
    await hub.start()
    mine = hub.listen(lambda event: conversation_of(event) == "c1")
    everything = hub.listen()
    await bus.publish(Closed("c2"))
    await bus.publish(Closed("c1"))
    assert await mine.next(1) == Closed("c1")
    assert await everything.next(1) == Closed("c2")
    assert await mine.next(0.05) is None
    hub.forget(mine)
    assert hub.listener_count == 1
    await hub.stop()


async def test_a_full_inbox_collapses_to_one_resync() -> None:
    bus = MemoryEventBus()
    hub = RealtimeHub(bus, backlog=3)
    await hub.start()
    slow = hub.listen()
    for number in range(5):
        await bus.publish(Closed(f"c{number}"))
    await asyncio.sleep(0.05)
    received = [await slow.next(0.1) for _ in range(3)]
    assert RESYNC in received and None in received
    await hub.stop()


async def test_ready_hands_over_a_burst_without_waiting() -> None:
    bus = MemoryEventBus()
    hub = RealtimeHub(bus)
    await hub.start()
    listener = hub.listen()
    assert listener.ready() == []
    for number in range(3):
        await bus.publish(Closed(f"c{number}"))
    assert await listener.next(1) == Closed("c0")
    await asyncio.sleep(0.01)
    listener.stop()
    assert listener.ready() == [Closed("c1"), Closed("c2"), STOP]
    assert listener.ready() == []
    await hub.stop()


async def test_finish_then_cancel_completes_the_work_before_cancelling() -> None:
    finished = asyncio.Event()

    async def work() -> str:
        await asyncio.sleep(0.05)
        finished.set()
        return "done"

    task = asyncio.create_task(finish_then_cancel(work()))
    await asyncio.sleep(0.01)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert finished.is_set() and task.cancelled()
