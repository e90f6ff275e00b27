"""One widget WebSocket: the client's typed JSON protocol over one conversation.

Client → server: message {text, client_msg_id}, typing, feedback {resolved}, ask_human, resume {last_seq}, ping.
Server → client: session, message, suggestions, feedback_request, queue_position, agent_joined, handoff,
typing, closed, resumed, ack, error, pong (see `envelopes`). In development mode `session` also names the
API worker process holding the socket (`worker`: its pid). When the client token expires mid-session the
connection sends `error {code: token_expired}` and closes with 4401 "token expired"; the widget renews its
token and resumes.

No message is lost or doubled across reconnects: the record is the source. After `resume {last_seq}` the
connection sends every message with a larger seq from SQL and remembers the highest seq sent; each later
event only triggers another read after that seq, so the order is the record's and nothing repeats on one
connection (the widget also drops any seq it has already shown).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from handoff_api.bot_client import BotUnavailable
from handoff_api.client_input import ClientInput, HumanRequest, Rating
from handoff_api.container import Container
from handoff_api.ratelimit import BucketRegistry, TokenBucket
from handoff_api.realtime import Listener, RealtimeHub, Resync, Stop, finish_then_cancel, stop_reader
from handoff_api.widget import envelopes
from handoff_api.widget.envelopes import Envelope
from routing.errors import RoutingError, ValidationFailed
from routing.events import HAND_OVER_EVENTS, EventName, RoutingEvent, Typing, conversation_of
from routing.models import Conversation, ConversationState, SenderKind
from routing.state_machine import being_served, bot_owns, can_rate

log = logging.getLogger(__name__)

S = ConversationState
QUEUE_EVENTS = frozenset(
    {
        EventName.QUEUED,
        EventName.POSITION_CHANGED,
        EventName.AGENT_JOINED,
        EventName.TRANSFERRED,
        EventName.ESCALATED,
        EventName.CLOSED,
    }
)
"""Events that may move a waiting client's place in the queue."""
STATE_EVENTS = HAND_OVER_EVENTS | {EventName.POSITION_CHANGED}
"""Events after which the client's facts (state, place, who serves) may have changed."""
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
CLOSE_UNSUPPORTED = 1003
CLOSE_UNAUTHORIZED = 4401
TOKEN_EXPIRED = "token expired"
MAX_CLIENT_MSG_ID = 64
SYNC_BATCH = 200


@dataclass(frozen=True)
class WidgetLimits:
    """Frame size and rate limits of the widget protocol."""

    max_frame_bytes: int = 16_384
    message_burst: float = 5
    messages_per_second: float = 0.5
    frame_burst: float = 30
    frames_per_second: float = 10
    max_violations: int = 20
    typing_interval_seconds: float = 1.5
    queue_refresh_seconds: float = 10.0

    @classmethod
    def for_chars(cls, max_message_chars: int) -> WidgetLimits:
        """Frames large enough for the longest allowed message (UTF-8 and JSON escapes included)."""
        return cls(max_frame_bytes=max(6 * max_message_chars + 1024, 4096))


class WidgetRuntime:
    """What the widget connections of one process share: per-client buckets and recent message ids."""

    def __init__(self, limits: WidgetLimits) -> None:
        self.limits = limits
        self.message_buckets = BucketRegistry(limits.message_burst, limits.messages_per_second)
        self._recent: OrderedDict[tuple[str, str], int] = OrderedDict()

    def seen(self, client_id: str, client_msg_id: str) -> int | None:
        """The seq stored for a client message id already handled in this process, if any."""
        return self._recent.get((client_id, client_msg_id))

    def remember(self, client_id: str, client_msg_id: str, seq: int) -> None:
        """Remember a handled client message id (bounded)."""
        self._recent[(client_id, client_msg_id)] = seq
        while len(self._recent) > 20_000:
            self._recent.popitem(last=False)


class ProtocolViolation(Exception):
    """The peer broke the protocol badly enough to be disconnected."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class WidgetConnection:
    """Serves one accepted widget WebSocket until either side closes."""

    def __init__(
        self,
        websocket: WebSocket,
        container: Container,
        hub: RealtimeHub,
        runtime: WidgetRuntime,
        conversation: Conversation,
        *,
        expires_at: datetime | None = None,
    ) -> None:
        self.ws = websocket
        self.expires_at = expires_at
        self.container = container
        self.hub = hub
        self.runtime = runtime
        self.limits = runtime.limits
        self.client_id = conversation.client_id
        self.conversation_id = conversation.id
        self.state: ConversationState = conversation.state
        self.sent_seq = 0
        self.resumed = False
        self._send_lock = asyncio.Lock()
        self._sync_lock = asyncio.Lock()
        self._frames = TokenBucket(self.limits.frame_burst, self.limits.frames_per_second)
        self._violations = 0
        self._last_typing = 0.0
        self._in_flight: str | None = None
        self._announced: tuple[Any, ...] | None = None
        self._seq_of_last_client_message: int | None = None

    # ---------------------------------------------------------------- lifecycle

    async def run(self) -> None:
        """Send the session envelope, then read frames while pushing events, until closed."""
        listener = self.hub.listen(self._wants)
        session: Envelope = {
            "type": "session",
            "conversation_id": self.conversation_id,
            "client_id": self.client_id,
            "state": self.state.value,
            "limits": {"max_chars": self.container.settings.max_message_chars},
        }
        if self.container.settings.is_development:
            session["worker"] = os.getpid()  # which API worker holds the socket (multi-worker tests)
        await self.send(session)
        pump = asyncio.create_task(self._pump(listener), name=f"widget-pump-{self.conversation_id}")
        expiry = asyncio.create_task(self._close_at_expiry(), name=f"widget-expiry-{self.conversation_id}")
        try:
            await self._read_frames()
        except ProtocolViolation as violation:
            await self.close(violation.code, violation.reason)
        finally:
            expiry.cancel()
            self.hub.forget(listener)
            await stop_reader(listener, pump)

    async def _close_at_expiry(self) -> None:
        """When the client token expires, say so and close with 4401: the widget fetches a new token and resumes."""
        if self.expires_at is None:
            return
        await asyncio.sleep(max(0.0, (self.expires_at - datetime.now(UTC)).total_seconds()))
        log.info("widget token of client %s expired; closing its session", self.client_id)
        await self.send(envelopes.error("token_expired"))
        await self.close(CLOSE_UNAUTHORIZED, TOKEN_EXPIRED)

    def _wants(self, event: RoutingEvent) -> bool:
        if conversation_of(event) == self.conversation_id:
            return True
        return self.state == S.QUEUED and event.kind in QUEUE_EVENTS

    @property
    def open(self) -> bool:
        """Both sides of the socket are still connected."""
        connected = WebSocketState.CONNECTED
        return self.ws.application_state == connected and self.ws.client_state == connected

    async def send(self, envelope: Envelope) -> None:
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

    # ---------------------------------------------------------------- inbound

    async def _read_frames(self) -> None:
        while True:
            frame = await self.ws.receive()
            if frame["type"] == "websocket.disconnect":
                return
            text = frame.get("text")
            if text is None:
                raise ProtocolViolation(CLOSE_UNSUPPORTED, "binary frames are not supported")
            if len(text.encode("utf-8")) > self.limits.max_frame_bytes:
                raise ProtocolViolation(CLOSE_TOO_BIG, f"frame larger than {self.limits.max_frame_bytes} bytes")
            if not self._frames.take():
                await self._violation("rate_limited")
                continue
            await self._handle_frame(text)

    async def _violation(self, code: str, **extra: Any) -> None:
        self._violations += 1
        if self._violations >= self.limits.max_violations:
            raise ProtocolViolation(CLOSE_POLICY, "too many invalid or excessive frames")
        await self.send(envelopes.error(code, **extra))

    async def _handle_frame(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except ValueError:
            await self._violation("bad_json")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self._violation("bad_envelope")
            return
        kind = frame["type"]
        if kind not in envelopes.CLIENT_TYPES:
            await self._violation("unknown_type", received=kind[:40])
            return
        try:
            await self._dispatch(kind, frame)
        except ProtocolViolation:
            raise
        except (WebSocketDisconnect, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("widget frame %s failed for conversation %s", kind, self.conversation_id)
            await self.send(envelopes.error("internal"))

    async def _dispatch(self, kind: str, frame: dict[str, Any]) -> None:
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "resume":
            await self._on_resume(frame)
        elif kind == "typing":
            await self._on_typing()
        elif kind == "message":
            await self._on_message(frame)
        elif kind == "feedback":
            await self._on_feedback(frame)
        elif kind == "ask_human":
            await self._on_ask_human()

    async def _on_resume(self, frame: dict[str, Any]) -> None:
        last_seq = frame.get("last_seq", 0)
        if not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0:
            await self._violation("bad_envelope", detail="last_seq must be a non-negative integer")
            return
        async with self._sync_lock:
            self.sent_seq = last_seq
            self.resumed = True
        await self.sync()
        await self.send({"type": "resumed", "last_seq": self.sent_seq})
        await self.refresh_state(force=True)

    async def _on_typing(self) -> None:
        loop = asyncio.get_running_loop()
        if self._last_typing and loop.time() - self._last_typing < self.limits.typing_interval_seconds:
            return
        self._last_typing = loop.time()
        await self.container.routing.client_typing(self.conversation_id)

    def _client_msg_id(self, frame: dict[str, Any]) -> str | None:
        value = frame.get("client_msg_id")
        if isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_MSG_ID:
            return value
        return None

    async def _ready(self, client_msg_id: str | None = None) -> bool:
        if not self.resumed:
            await self.send(envelopes.error("not_resumed", client_msg_id=client_msg_id))
            return False
        if not self.runtime.message_buckets.take(self.client_id):
            await self._violation("rate_limited", client_msg_id=client_msg_id)
            return False
        return True

    async def _on_message(self, frame: dict[str, Any]) -> None:
        text = frame.get("text")
        client_msg_id = self._client_msg_id(frame)
        if not isinstance(text, str):
            await self._violation("bad_envelope", client_msg_id=client_msg_id, detail="text must be a string")
            return
        if client_msg_id and (seq := self.runtime.seen(self.client_id, client_msg_id)) is not None:
            await self.send({"type": "ack", "client_msg_id": client_msg_id, "seq": seq, "duplicate": True})
            return
        try:
            turn = self.container.flow.read_text(text)
        except ValidationFailed:
            code = "empty_text" if not text.strip() else "text_too_long"
            await self.send(envelopes.error(code, client_msg_id=client_msg_id))
            return
        if not await self._ready(client_msg_id):
            return
        self._last_typing = 0.0
        seq = await self._run_flow(turn, client_msg_id)
        if client_msg_id and seq is not None:
            self.runtime.remember(self.client_id, client_msg_id, seq)
            await self.send({"type": "ack", "client_msg_id": client_msg_id, "seq": seq})

    async def _run_flow(self, turn: ClientInput, client_msg_id: str | None) -> int | None:
        """Hand the turn to the conversation flow; the seq of the stored client message, if stored."""
        self._in_flight = client_msg_id
        stored: int | None = None
        problem: Envelope | None = None
        try:
            result = await finish_then_cancel(self.container.flow.handle(self.conversation_id, turn))
            stored = result.client_message.seq
        except BotUnavailable:
            problem = envelopes.error("bot_unavailable", client_msg_id=client_msg_id)
        except RoutingError as exc:
            log.info("widget message refused: %s", exc)
            problem = envelopes.error("not_allowed", client_msg_id=client_msg_id)
        finally:
            await self.sync()
            self._in_flight = None
        if problem is not None:
            await self.send(problem)
        await self.refresh_state()
        if stored is None and client_msg_id:
            stored = self._seq_of_last_client_message
        return stored

    async def _on_feedback(self, frame: dict[str, Any]) -> None:
        resolved = frame.get("resolved")
        if not isinstance(resolved, bool):
            await self._violation("bad_envelope", detail="resolved must be true or false")
            return
        if not await self._ready():
            return
        if not can_rate(self.state):
            await self.send(envelopes.error("not_allowed"))
            return
        await self._run_flow(Rating(resolved), None)

    async def _on_ask_human(self) -> None:
        if not await self._ready():
            return
        if not bot_owns(self.state):
            await self.send(envelopes.error("not_allowed", message="您已在人工服务流程中，请稍候。"))
            return
        await self._run_flow(HumanRequest(), None)

    # ---------------------------------------------------------------- outbound

    async def _pump(self, listener: Listener) -> None:
        refresh = self.limits.queue_refresh_seconds
        while True:
            event = await listener.next(refresh if self.state == S.QUEUED else None)
            if isinstance(event, Stop):
                return
            try:
                if event is None:
                    await self.refresh_state(force=True)
                else:
                    await self._on_event(event)
            except (WebSocketDisconnect, RuntimeError):
                return
            except Exception:
                log.exception("widget event handling failed for conversation %s", self.conversation_id)

    async def _on_event(self, event: RoutingEvent | Resync) -> None:
        if isinstance(event, Resync):
            await self.sync()
            await self.refresh_state(force=True)
            return
        if conversation_of(event) != self.conversation_id:
            await self.refresh_state()
            return
        if isinstance(event, Typing):
            if event.sender != SenderKind.CLIENT:
                await self.send(envelopes.typing(event.sender, event.name))
            return
        await self.sync()
        if event.kind in STATE_EVENTS:
            await self.refresh_state()

    async def sync(self) -> None:
        """Send every stored message after the last one sent, in seq order."""
        async with self._sync_lock:
            if not self.resumed:
                return
            while True:
                batch = await finish_then_cancel(
                    self.container.routing.messages_after(self.conversation_id, self.sent_seq, SYNC_BATCH)
                )
                for item in batch:
                    client_msg_id = None
                    if item.sender == SenderKind.CLIENT:
                        self._seq_of_last_client_message = item.seq
                        client_msg_id, self._in_flight = self._in_flight, None
                    await self.send(envelopes.message(item, client_msg_id))
                    for extra in envelopes.derived(item):
                        await self.send(extra)
                    self.sent_seq = item.seq
                if len(batch) < SYNC_BATCH:
                    return

    async def refresh_state(self, force: bool = False) -> None:
        """Tell the client about hand-overs, its queue position and who serves it (when these changed)."""
        facts = await finish_then_cancel(self.container.routing.client_facts(self.conversation_id))
        self.state = facts.state
        serving = facts.serving
        queue = facts.queue.value if facts.queue else None
        wait = facts.estimated_wait_seconds
        key = (
            facts.state,
            queue,
            facts.position,
            None if wait is None else round(wait),
            serving and serving.staff_id,
        )
        previous, self._announced = self._announced, key
        if key == previous and not force:
            return
        changed_hands = previous is None or previous[0] != key[0] or previous[1] != key[1] or previous[4] != key[4]
        if changed_hands and not (previous is None and facts.state == S.BOT):
            name = serving.name if serving else None
            await self.send(envelopes.handoff(facts.state.value, queue, int(facts.tier), name))
        if facts.state == S.QUEUED:
            await self.send(envelopes.queue_position(queue, facts.position, wait))
        elif serving is not None and being_served(facts.state):
            if changed_hands or force:
                role = serving.role.value
                await self.send(envelopes.agent_joined(serving.name, role, serving.practice_number, int(facts.tier)))
        elif facts.state == S.CLOSED and (changed_hands or force):
            await self.send(envelopes.closed())
