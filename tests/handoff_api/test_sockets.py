"""The socket plumbing the widget and console share, over a fake WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from fastapi import WebSocket
from starlette.websockets import WebSocketState

from handoff_api.realtime import RESYNC, RealtimeHub
from handoff_api.sockets import Burst, FrameLimits, SocketSession
from routing.events import Closed, RoutingEvent
from routing.memory import ManualClock, MemoryEventBus

LIMITS = FrameLimits(max_frame_bytes=64, frame_burst=3, frames_per_second=0.001, max_violations=3)
LONG_AGO = datetime(2001, 1, 1, tzinfo=UTC)


class FakeWebSocket:
    """Frames in through `push`, envelopes out in `sent`, the close code and reason in `closed`."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.sent: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None
        self.application_state = WebSocketState.CONNECTED
        self.client_state = WebSocketState.CONNECTED

    def push(self, text: str | None = None, data: bytes | None = None) -> None:
        self.incoming.put_nowait({"type": "websocket.receive", "text": text, "bytes": data})

    def hang_up(self) -> None:
        self.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})

    async def receive(self) -> dict[str, Any]:
        return await self.incoming.get()

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.application_state = WebSocketState.DISCONNECTED
        self.hang_up()


class EchoSession(SocketSession):
    """A tiny protocol: greets, echoes text, reports violations and event bursts."""

    def __init__(self, ws: FakeWebSocket, hub: RealtimeHub, clock: ManualClock, **kwargs: Any) -> None:
        super().__init__(cast(WebSocket, ws), hub, clock, LIMITS, name="echo", **kwargs)
        self.bursts: list[list[str]] = []
        self.fail_next = False

    def accepts(self, event: RoutingEvent) -> bool:
        return getattr(event, "conversation_id", "") != "ignored"

    async def greet(self) -> None:
        await self.send({"type": "hello", "text": "您好"})

    async def on_text(self, text: str) -> None:
        await self.send({"type": "echo", "text": text})

    async def on_violation(self, code: str, extra: Mapping[str, Any]) -> None:
        await self.send({"type": "error", "code": code})

    async def on_events(self, burst: Burst) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ValueError("broken handler")
        self.bursts.append(["resync" if event is RESYNC else getattr(event, "conversation_id", "?") for event in burst])


async def started(**kwargs: Any) -> tuple[FakeWebSocket, EchoSession, asyncio.Task[None], RealtimeHub]:
    hub = RealtimeHub(MemoryEventBus())
    ws = FakeWebSocket()
    session = EchoSession(ws, hub, kwargs.pop("clock", ManualClock()), **kwargs)
    task = asyncio.create_task(session.run())
    await asyncio.sleep(0.01)
    return ws, session, task, hub


async def test_greets_echoes_and_ends_when_the_peer_leaves() -> None:
    ws, _, task, hub = await started()
    ws.push("你好")
    ws.hang_up()
    await asyncio.wait_for(task, 1)
    assert ws.sent == [{"type": "hello", "text": "您好"}, {"type": "echo", "text": "你好"}]
    assert ws.closed is None and hub.listener_count == 0


async def test_binary_and_oversized_frames_close_the_session() -> None:
    ws, _, task, _ = await started()
    ws.push(data=b"\x00")
    await asyncio.wait_for(task, 1)
    assert ws.closed == (1003, "binary frames are not supported")
    ws, _, task, _ = await started()
    ws.push("长" * 30)
    await asyncio.wait_for(task, 1)
    assert ws.closed == (1009, "frame larger than 64 bytes")


async def test_frames_over_the_rate_are_violations_and_too_many_close_with_1008() -> None:
    ws, _, task, _ = await started()
    for number in range(6):
        ws.push(str(number))
    await asyncio.wait_for(task, 1)
    assert [e["type"] for e in ws.sent[1:]] == ["echo", "echo", "echo", "error", "error"]
    assert ws.closed == (1008, "too many invalid or excessive frames")


async def test_events_arrive_a_burst_at_a_time_and_a_failing_burst_does_not_stop_the_reader() -> None:
    ws, session, task, hub = await started()
    session.fail_next = True
    hub.dispatch(Closed("c0"))
    await asyncio.sleep(0.01)
    for name in ("c1", "ignored", "c2"):
        hub.dispatch(Closed(name))
    hub.dispatch(RESYNC)
    await asyncio.sleep(0.01)
    ws.hang_up()
    await asyncio.wait_for(task, 1)
    assert session.bursts == [["c1", "c2", "resync"]]


async def test_the_session_closes_when_the_routing_clock_says_the_token_expired() -> None:
    clock = ManualClock(LONG_AGO)  # the system clock would call this token expired decades ago
    ws, _, task, _ = await started(clock=clock, expires_at=LONG_AGO + timedelta(seconds=0.2))
    await asyncio.sleep(0.05)
    assert ws.closed is None
    await asyncio.wait_for(task, 1)
    assert ws.closed == (4401, "token expired")


async def test_a_session_without_expiry_stays_open() -> None:
    ws, _, task, _ = await started()
    await asyncio.sleep(0.05)
    assert ws.closed is None and not task.done()
    ws.hang_up()
    await asyncio.wait_for(task, 1)
