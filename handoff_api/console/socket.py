"""The console WebSocket: live events for one signed-in staff member, filtered by what they may see.

Server → console: {"type": "hello", staff, worker (pid, development mode only)},
{"type": "event", "event": {...routing event...}} (a message's text masked unless the staff member serves it),
{"type": "resync"} (events may have been missed: reload lists), {"type": "error", ...}, {"type": "pong"}.
Console → server: {"type": "typing", "conversation_id"} (forwarded to the client's widget when the staff
member holds the conversation), {"type": "ping"}.
Frames are text of at most 4 KiB; a console that floods the socket is closed with 1008 (see `sockets`).
The socket closes with 4401 "token expired" when its staff token expires (timer, and any frame after it), and
with 4401 "token revoked" / "staff member disabled" within STAFF_SESSION_CHECK_SECONDS of a logout, a logout
everywhere, a password change or disabling; the console then renews its token and reconnects, or signs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from handoff_api.console.visibility import Visibility
from handoff_api.container import Container
from handoff_api.realtime import Resync, finish_then_cancel
from handoff_api.sockets import CLOSE_UNAUTHORIZED, Burst, FrameLimits, SocketSession
from handoff_api.staff.auth import StaffTokenClaims, session_refusal
from routing.errors import RoutingError
from routing.events import RoutingEvent
from routing.models import Staff

log = logging.getLogger(__name__)

CONSOLE_LIMITS = FrameLimits(max_frame_bytes=4096, frame_burst=20, frames_per_second=5, max_violations=20)
TYPING_INTERVAL_SECONDS = 1.5
MAX_ID_CHARS = 64


class ConsoleConnection(SocketSession):
    """Serves one staff member's console socket until either side closes."""

    def __init__(self, websocket: WebSocket, container: Container, staff: Staff, claims: StaffTokenClaims) -> None:
        super().__init__(
            websocket,
            container.hub,
            container.clock,
            CONSOLE_LIMITS,
            name=f"console-{staff.id}",
            expires_at=claims.expires_at,
        )
        self.container = container
        self.staff = staff
        self.claims = claims
        self.visibility = Visibility(staff, self._may_view, serves=self._serves)
        self._last_typing: dict[str, float] = {}

    async def _may_view(self, conversation_id: str) -> bool:
        try:
            await finish_then_cancel(self.container.routing.get_conversation(conversation_id, viewer_id=self.staff.id))
        except RoutingError:
            return False
        return True

    async def _serves(self, conversation_id: str) -> bool:
        try:
            conversation = await finish_then_cancel(self.container.routing.get_conversation(conversation_id))
        except RoutingError:
            return False
        return conversation.assignee_id == self.staff.id

    async def guard(self) -> None:
        """Every STAFF_SESSION_CHECK_SECONDS: close with 4401 once the token is revoked or the member disabled."""
        every = self.container.settings.staff_session_check_seconds
        while True:
            await asyncio.sleep(every)
            reason = await self._refusal()
            if reason is not None:
                log.info("console session of %s ended: %s", self.staff.id, reason)
                await self.send({"type": "error", "code": "unauthorized", "message": "登录已失效，请重新登录"})
                await self.close(CLOSE_UNAUTHORIZED, reason)
                return

    async def _refusal(self) -> str | None:
        try:
            staff = await finish_then_cancel(self.container.routing.find_staff(self.staff.id))
            store, now = self.container.refresh_tokens, self.container.clock.now()
            return await finish_then_cancel(session_refusal(staff, self.claims, store, now))
        except Exception:
            log.exception("console session check failed for %s; tried again later", self.staff.id)
            return None

    def accepts(self, event: RoutingEvent) -> bool:
        """Events that could concern the staff member (the full check runs per event in `on_events`)."""
        return self.visibility.quick(event)

    async def greet(self) -> None:
        """Say who is signed in (and, in development, which worker holds the socket)."""
        hello: dict[str, Any] = {
            "type": "hello",
            "staff": {"id": self.staff.id, "name": self.staff.name, "role": self.staff.role.value},
        }
        if self.container.settings.is_development:
            hello["worker"] = os.getpid()  # which API worker holds the socket (multi-worker tests)
        await self.send(hello)

    async def on_events(self, burst: Burst) -> None:
        """Forward each event the staff member may see, in order; one that fails is logged and skipped."""
        for event in burst:
            try:
                await self._forward(event)
            except (WebSocketDisconnect, RuntimeError):
                raise
            except Exception:
                log.exception("console event forwarding failed for %s", self.staff.id)

    async def _forward(self, event: RoutingEvent | Resync) -> None:
        if isinstance(event, Resync):
            await self.send({"type": "resync"})  # events may have been missed: the page reloads its lists
        elif await self.visibility.allows(event):
            await self.send({"type": "event", "event": await self.visibility.wire(event)})

    async def on_text(self, text: str) -> None:
        """ping → pong; typing → the client's widget shows that the staff member is typing."""
        try:
            frame = json.loads(text)
        except ValueError:
            await self.send({"type": "error", "code": "bad_json", "message": "消息格式有误"})
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "typing" and isinstance(frame.get("conversation_id"), str):
            await self._typing(frame["conversation_id"][:MAX_ID_CHARS])
        else:
            await self.send({"type": "error", "code": "unknown_type", "message": "不支持的消息类型"})

    async def _typing(self, conversation_id: str) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_typing.get(conversation_id, 0.0) < TYPING_INTERVAL_SECONDS:
            return
        self._last_typing[conversation_id] = loop.time()
        with contextlib.suppress(RoutingError):
            await finish_then_cancel(self.container.routing.staff_typing(self.staff.id, conversation_id))
