"""OutboxDrainer: backoff, giving up, order, and the run loop."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from handoff_api.wecom.client import WeComSendError
from handoff_api.wecom.drainer import OutboxDrainer
from handoff_api.wecom.outbox import MemoryOutbox, OutboxStatus
from routing.memory import ManualClock

NOW = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


class ScriptedDeliverer:
    def __init__(self, *failures: WeComSendError | None) -> None:
        self.failures = list(failures)
        self.delivered: list[Mapping[str, Any]] = []

    async def deliver(self, kind: str, payload: Mapping[str, Any], *, max_attempts: int | None = None) -> None:
        assert max_attempts == 1
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure
        self.delivered.append(payload)


def transient() -> WeComSendError:
    return WeComSendError("errcode 45009", errcode=45009, retryable=True)


async def test_backoff_grows_and_gives_up_after_max_attempts():
    outbox = MemoryOutbox()
    message_id = await outbox.add("message_send", {"n": 1}, next_attempt_at=NOW, attempts=1)
    clock = ManualClock(NOW)
    drainer = OutboxDrainer(
        outbox,
        ScriptedDeliverer(*[transient()] * 5),
        clock=clock,
        max_attempts=4,
        backoff_base_seconds=10,
    )
    delays = []
    for _ in range(3):
        report = await drainer.drain_once()
        stored = await outbox.get(message_id)
        assert stored is not None
        if stored.status is OutboxStatus.FAILED:
            break
        assert report.retrying == 1
        delays.append(stored.next_attempt_at - clock.now())
        clock.set(stored.next_attempt_at)
    assert delays == [timedelta(seconds=20), timedelta(seconds=40)]
    stored = await outbox.get(message_id)
    assert stored is not None and stored.status is OutboxStatus.FAILED and stored.attempts == 4


async def test_permanent_errors_are_given_up_at_once_and_the_pass_continues():
    outbox = MemoryOutbox()
    bad = await outbox.add("message_send", {"n": 1}, next_attempt_at=NOW)
    await outbox.add("message_send", {"n": 2}, next_attempt_at=NOW)
    deliverer = ScriptedDeliverer(WeComSendError("errcode 40003", errcode=40003, retryable=False))
    report = await OutboxDrainer(outbox, deliverer, clock=ManualClock(NOW)).drain_once()
    assert (report.sent, report.given_up) == (1, 1)
    assert deliverer.delivered == [{"n": 2}]
    stored = await outbox.get(bad)
    assert stored is not None and stored.status is OutboxStatus.FAILED


async def test_a_transient_failure_stops_the_pass_to_keep_order():
    outbox = MemoryOutbox()
    for n in range(3):
        await outbox.add("message_send", {"n": n}, next_attempt_at=NOW)
    deliverer = ScriptedDeliverer(transient())
    report = await OutboxDrainer(outbox, deliverer, clock=ManualClock(NOW)).drain_once()
    assert (report.sent, report.retrying) == (0, 1) and deliverer.delivered == []


async def test_run_loop_drains_until_stopped():
    outbox = MemoryOutbox()
    await outbox.add("message_send", {"n": 1}, next_attempt_at=NOW)
    deliverer = ScriptedDeliverer()
    stop = asyncio.Event()
    drainer = OutboxDrainer(outbox, deliverer, clock=ManualClock(NOW), interval_seconds=0.01)
    task = asyncio.create_task(drainer.run(stop))
    for _ in range(100):
        if deliverer.delivered:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=1)
    assert deliverer.delivered == [{"n": 1}]
