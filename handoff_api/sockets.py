"""One WebSocket session: the plumbing the widget and console sockets share.

A session sends JSON envelopes one at a time (frames never interleave), reads text frames within a
size limit and a frame-rate bucket, counts protocol violations and closes with 1008 when there are too
many, reads hub events on a task of its own (handed over a burst at a time, and ended gracefully with
`realtime.stop_reader`), and, given its token's expiry, closes with 4401 "token expired" when that
instant comes on the routing clock (a frame read after it is not handled either). A `guard` task may run
beside the session (the console's closes it when its token is revoked). Subclasses keep only their
protocol: the greeting, what a text frame means, and what to do with a burst of events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from handoff_api.ratelimit import TokenBucket
from handoff_api.realtime import Listener, RealtimeHub, Resync, Stop, stop_reader
from routing.events import RoutingEvent
from routing.ports import Clock

log = logging.getLogger(__name__)

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_UNAUTHORIZED = 4401
TOKEN_EXPIRED = "token expired"
TOO_MANY_VIOLATIONS = "too many invalid or excessive frames"

Burst = Sequence[RoutingEvent | Resync]
"""Events that arrived together, in order."""


@dataclass(frozen=True)
class FrameLimits:
    """How big and how frequent a peer's frames may be, and how many violations end the session."""

    max_frame_bytes: int
    frame_burst: float
    frames_per_second: float
    max_violations: int


class ProtocolViolation(Exception):
    """The peer broke the protocol badly enough to be disconnected with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class SocketSession(ABC):
    """Serves one accepted WebSocket until either side closes; subclasses speak the protocol."""

    def __init__(
        self,
        websocket: WebSocket,
        hub: RealtimeHub,
        clock: Clock,
        limits: FrameLimits,
        *,
        name: str,
        expires_at: datetime | None = None,
    ) -> None:
        self.ws = websocket
        self.hub = hub
        self.clock = clock
        self.frame_limits = limits
        self.name = name
        self.expires_at = expires_at
        self._send_lock = asyncio.Lock()
        self._frames = TokenBucket(limits.frame_burst, limits.frames_per_second)
        self._violations = 0

    # ---------------------------------------------------------------- the protocol

    @abstractmethod
    def accepts(self, event: RoutingEvent) -> bool:
        """Whether the session wants an event (cheap, no I/O: the hub calls it for every event)."""

    @abstractmethod
    async def greet(self) -> None:
        """The first envelope(s), sent before any event."""

    @abstractmethod
    async def on_text(self, text: str) -> None:
        """Handle one text frame (within the size and rate limits)."""

    @abstractmethod
    async def on_events(self, burst: Burst) -> None:
        """Handle events that arrived together."""

    def idle_seconds(self) -> float | None:
        """How long to wait for an event before `on_idle` (None: wait for ever)."""
        return None

    async def on_idle(self) -> None:
        """No event came within `idle_seconds` (nothing to do by default)."""
        return None

    async def on_violation(self, code: str, extra: Mapping[str, Any]) -> None:
        """A violation that does not (yet) end the session; the peer is told if the protocol says so."""
        return None

    async def guard(self) -> None:
        """Runs beside the session until it ends (nothing by default): e.g. close when a token is revoked."""
        return None

    async def on_token_expired(self) -> None:
        """The token ran out: close with 4401 "token expired" (the peer signs in again)."""
        await self.close(CLOSE_UNAUTHORIZED, TOKEN_EXPIRED)

    # ---------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        """Greet, then read frames while a second task handles events, until closed."""
        listener = self.hub.listen(self.accepts)
        await self.greet()
        reader = asyncio.create_task(self._read_events(listener), name=f"{self.name}-events")
        expiry = asyncio.create_task(self._close_at_expiry(), name=f"{self.name}-expiry")
        guard = asyncio.create_task(self.guard(), name=f"{self.name}-guard")
        try:
            await self._read_frames()
        except ProtocolViolation as violation:
            await self.close(violation.code, violation.reason)
        finally:
            expiry.cancel()
            guard.cancel()
            self.hub.forget(listener)
            await stop_reader(listener, reader)

    @property
    def expired(self) -> bool:
        """The session's token has expired on the routing clock."""
        return self.expires_at is not None and self.expires_at <= self.clock.now()

    @property
    def open(self) -> bool:
        """Both sides of the socket are still connected."""
        connected = WebSocketState.CONNECTED
        return self.ws.application_state == connected and self.ws.client_state == connected

    async def send(self, envelope: Mapping[str, Any]) -> None:
        """Send one envelope (serialised: frames never interleave)."""
        async with self._send_lock:
            if self.open:
                await self.ws.send_text(json.dumps(envelope, ensure_ascii=False))

    async def close(self, code: int, reason: str) -> None:
        """Close with a code and a reason the browser can read."""
        async with self._send_lock:
            if self.ws.application_state == WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.ws.close(code, reason)

    async def violation(self, code: str, **extra: Any) -> None:
        """Count a violation; too many end the session with 1008."""
        self._violations += 1
        if self._violations >= self.frame_limits.max_violations:
            raise ProtocolViolation(CLOSE_POLICY, TOO_MANY_VIOLATIONS)
        await self.on_violation(code, extra)

    # ---------------------------------------------------------------- inbound

    async def _read_frames(self) -> None:
        limit = self.frame_limits.max_frame_bytes
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                raise ProtocolViolation(CLOSE_UNSUPPORTED, "binary frames are not supported")
            if len(text.encode("utf-8")) > limit:
                raise ProtocolViolation(CLOSE_TOO_BIG, f"frame larger than {limit} bytes")
            if not self._frames.take():
                await self.violation("rate_limited")
                continue
            if self.expired:
                await self.on_token_expired()  # a frame after expiry is never handled, timer or not
                return
            await self.on_text(text)

    # ---------------------------------------------------------------- events

    async def _read_events(self, listener: Listener) -> None:
        while True:
            first = await listener.next(self.idle_seconds())
            if isinstance(first, Stop):
                return
            burst, stopped = _until_stop([first, *listener.ready()]) if first is not None else ([], False)
            try:
                if first is None:
                    await self.on_idle()
                else:
                    await self.on_events(burst)
            except (WebSocketDisconnect, RuntimeError):
                return
            except Exception:
                log.exception("event handling failed on %s", self.name)
            if stopped:
                return

    async def _close_at_expiry(self) -> None:
        if self.expires_at is None:
            return
        await asyncio.sleep(max(0.0, (self.expires_at - self.clock.now()).total_seconds()))
        log.info("token of %s expired; closing the session", self.name)
        await self.on_token_expired()


def _until_stop(events: Sequence[RoutingEvent | Resync | Stop]) -> tuple[list[RoutingEvent | Resync], bool]:
    """The events before a STOP, and whether a STOP came."""
    burst: list[RoutingEvent | Resync] = []
    for event in events:
        if isinstance(event, Stop):
            return burst, True
        burst.append(event)
    return burst, False
