"""The console WebSocket: live events for one signed-in staff member, filtered by what they may see.

Server → console: {"type": "hello", staff, worker (pid, development mode only)},
{"type": "event", "event": {...routing event...}},
{"type": "resync"} (events may have been missed: reload lists), {"type": "error", ...}, {"type": "pong"}.
Console → server: {"type": "typing", "conversation_id"} (forwarded to the client's widget when the staff
member holds the conversation), {"type": "ping"}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from handoff_api.console.visibility import Visibility
from handoff_api.container import Container
from handoff_api.realtime import Listener, RealtimeHub, Resync, Stop, finish_then_cancel, stop_reader
from handoff_api.widget.ratelimit import TokenBucket
from routing.errors import RoutingError
from routing.events import to_wire
from routing.models import Staff

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
TYPING_INTERVAL_SECONDS = 1.5


class ConsoleConnection:
    """Serves one staff member's console socket until either side closes."""

    def __init__(self, websocket: WebSocket, container: Container, hub: RealtimeHub, staff: Staff) -> None:
        self.ws = websocket
        self.container = container
        self.hub = hub
        self.staff = staff
        self.visibility = Visibility(staff, self._may_view)
        self._send_lock = asyncio.Lock()
        self._frames = TokenBucket(20, 5)
        self._violations = 0
        self._last_typing: dict[str, float] = {}

    async def _may_view(self, conversation_id: str) -> bool:
        try:
            await finish_then_cancel(self.container.routing.get_conversation(conversation_id, viewer_id=self.staff.id))
        except RoutingError:
            return False
        return True

    @property
    def open(self) -> bool:
        """Both sides of the socket are still connected."""
        connected = WebSocketState.CONNECTED
        return self.ws.application_state == connected and self.ws.client_state == connected

    async def send(self, envelope: dict[str, Any]) -> None:
        """Send one envelope (serialised)."""
        async with self._send_lock:
            if self.open:
                await self.ws.send_text(json.dumps(envelope, ensure_ascii=False))

    async def run(self) -> None:
        """Greet, then forward events while reading the console's frames."""
        listener = self.hub.listen(self.visibility.quick)
        hello: dict[str, Any] = {
            "type": "hello",
            "staff": {"id": self.staff.id, "name": self.staff.name, "role": self.staff.role.value},
        }
        if self.container.settings.is_development:
            hello["worker"] = os.getpid()  # which API worker holds the socket (multi-worker tests)
        await self.send(hello)
        pump = asyncio.create_task(self._pump(listener), name=f"console-pump-{self.staff.id}")
        try:
            await self._read()
        finally:
            self.hub.forget(listener)
            await stop_reader(listener, pump)

    async def _pump(self, listener: Listener) -> None:
        while True:
            event = await listener.next()
            if event is None or isinstance(event, Stop):
                return
            try:
                if isinstance(event, Resync):
                    await self.send({"type": "resync"})
                elif await self.visibility.allows(event):
                    await self.send({"type": "event", "event": to_wire(event)})
            except (WebSocketDisconnect, RuntimeError):
                return
            except Exception:
                log.exception("console event forwarding failed for %s", self.staff.id)

    async def _read(self) -> None:
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None or len(text.encode("utf-8")) > MAX_FRAME_BYTES:
                await self._close(CLOSE_TOO_BIG, "frame too large or not text")
                return
            if not self._frames.take():
                self._violations += 1
                if self._violations > 20:
                    await self._close(CLOSE_POLICY, "too many frames")
                    return
                continue
            await self._handle(text)

    async def _close(self, code: int, reason: str) -> None:
        async with self._send_lock:
            if self.open:
                await self.ws.close(code, reason)

    async def _handle(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            await self.send({"type": "error", "code": "bad_json", "message": "消息格式有误"})
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "typing" and isinstance(frame.get("conversation_id"), str):
            await self._typing(frame["conversation_id"][:64])
        else:
            await self.send({"type": "error", "code": "unknown_type", "message": "不支持的消息类型"})

    async def _typing(self, conversation_id: str) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_typing.get(conversation_id, 0.0) < TYPING_INTERVAL_SECONDS:
            return
        self._last_typing[conversation_id] = loop.time()
        with contextlib.suppress(RoutingError):
            await finish_then_cancel(self.container.routing.staff_typing(self.staff.id, conversation_id))
