"""One widget WebSocket: the client's typed JSON protocol over one conversation.

Client → server: message {text, client_msg_id}, typing, feedback {resolved}, ask_human, resume {last_seq}, ping.
Server → client: session, message, suggestions, feedback_request, queue_position, agent_joined, handoff,
typing, closed, resumed, ack, error, pong (see `envelopes`). In development mode `session` also names the
API worker process holding the socket (`worker`: its pid). When the client token expires mid-session the
connection sends `error {code: token_expired}` and closes with 4401 "token expired"; the widget renews its
token and resumes.

No message is lost or doubled across reconnects, and messages arrive in seq order (`transcript`). Each
client turn is shown from its own result: the stored client message as soon as it is stored, then the
bot's replies and the new state; events the turn itself caused find nothing left to read. Events from
others are handled a burst at a time: one read of the transcript for the messages not yet sent, one
read of the facts when an event may have changed what the client sees (`client_state`).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from handoff_api.client_input import HumanRequest, Rating
from handoff_api.container import Container
from handoff_api.realtime import Resync
from handoff_api.sockets import Burst, ProtocolViolation, SocketSession
from handoff_api.widget import envelopes
from handoff_api.widget.client_state import ClientStateFeed
from handoff_api.widget.envelopes import Envelope
from handoff_api.widget.frames import (
    AskHuman,
    BadFrame,
    ClientFrame,
    ClientTyping,
    GiveFeedback,
    GiveRating,
    LoadOlder,
    Ping,
    Resume,
    SendText,
    parse_frame,
)
from handoff_api.widget.runtime import WidgetRuntime
from handoff_api.widget.transcript import TranscriptFeed
from handoff_api.widget.turns import TurnRunner
from routing.errors import AlreadyRated, ValidationFailed
from routing.events import (
    HAND_OVER_EVENTS,
    EventName,
    MessageAdded,
    PositionChanged,
    Queued,
    RoutingEvent,
    Typing,
    conversation_of,
)
from routing.models import Channel, Conversation, ConversationState, SenderKind
from routing.service.pages import PageRequest, TranscriptPage
from routing.state_machine import bot_owns, can_rate

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
"""Events about other conversations that may move a waiting client's place in the queue."""
STATE_EVENTS = HAND_OVER_EVENTS | {EventName.POSITION_CHANGED}
"""Events after which the client's facts (state, place, who serves) may have changed."""


class WidgetConnection(SocketSession):
    """Serves one accepted widget WebSocket until either side closes."""

    def __init__(
        self,
        websocket: WebSocket,
        container: Container,
        runtime: WidgetRuntime,
        conversation: Conversation,
        *,
        expires_at: datetime | None = None,
    ) -> None:
        super().__init__(
            websocket,
            container.hub,
            container.clock,
            runtime.limits.frames,
            name=f"widget-{conversation.id}",
            expires_at=expires_at,
        )
        self.container = container
        self.runtime = runtime
        self.limits = runtime.limits
        self.client_id = conversation.client_id
        self.conversation_id = conversation.id
        routing = container.routing
        self.transcript = TranscriptFeed(self.send, partial(routing.messages_after, conversation.id), self._page_before)
        self.facts = ClientStateFeed(self.send, partial(routing.client_facts, conversation.id), conversation.state)
        self.turns = TurnRunner(
            container.flow,
            runtime,
            conversation_id=conversation.id,
            client_id=conversation.client_id,
            transcript=self.transcript,
            facts=self.facts,
            send=self.send,
        )
        self._last_typing = 0.0

    @property
    def state(self) -> ConversationState:
        """The conversation's state as last learnt."""
        return self.facts.state

    # ---------------------------------------------------------------- session

    def accepts(self, event: RoutingEvent) -> bool:
        """This conversation's events, and, while queued, the queue movements that may move the client."""
        if conversation_of(event) == self.conversation_id:
            return True
        if self.state != S.QUEUED or event.kind not in QUEUE_EVENTS:
            return False
        shown = self.facts.shown
        return not (isinstance(event, Queued | PositionChanged) and shown is not None and event.queue != shown.queue)

    async def greet(self) -> None:
        """The session envelope: conversation, client, state and the message limit."""
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

    async def on_violation(self, code: str, extra: Mapping[str, Any]) -> None:
        """Tell the client what was wrong with its frame."""
        await self.send(envelopes.error(code, **extra))

    async def on_token_expired(self) -> None:
        """Say why, then close with 4401: the widget fetches a new token and resumes."""
        await self.send(envelopes.error("token_expired"))
        await super().on_token_expired()

    def idle_seconds(self) -> float | None:
        """Wake up every few seconds without events (the state may change while the reader waits)."""
        return self.limits.queue_refresh_seconds

    async def on_idle(self) -> None:
        """While queued, re-announce the place and the wait (the estimate moves without events)."""
        if self.state == S.QUEUED:
            await self.facts.refresh(force=True)

    # ---------------------------------------------------------------- inbound

    async def on_text(self, text: str) -> None:
        """Handle one client frame; an unexpected failure is logged and answered with `internal`."""
        frame = parse_frame(text)
        if isinstance(frame, BadFrame):
            await self.violation(frame.code, **frame.extra)
            return
        try:
            await self._dispatch(frame)
        except (ProtocolViolation, WebSocketDisconnect, asyncio.CancelledError):
            raise
        except Exception:
            log.exception("widget frame %s failed for conversation %s", type(frame).__name__, self.conversation_id)
            await self.send(envelopes.error("internal"))

    async def _dispatch(self, frame: ClientFrame) -> None:
        if isinstance(frame, Ping):
            await self.send({"type": "pong"})
        elif isinstance(frame, Resume):
            await self._on_resume(frame.last_seq)
        elif isinstance(frame, LoadOlder):
            await self.transcript.older(frame.before)
        elif isinstance(frame, ClientTyping):
            await self._on_typing()
        elif isinstance(frame, SendText):
            await self._on_text_message(frame)
        elif isinstance(frame, GiveFeedback):
            await self._on_feedback(frame.resolved)
        elif isinstance(frame, GiveRating):
            await self._on_rating(frame.score)
        elif isinstance(frame, AskHuman):
            await self._on_ask_human()

    async def _on_resume(self, last_seq: int) -> None:
        await self.transcript.resume(last_seq)
        await self.send(
            {"type": "resumed", "last_seq": self.transcript.sent_seq, "has_older": self.transcript.has_older}
        )
        await self.facts.refresh(force=True)

    async def _page_before(self, before: int | None, limit: int) -> TranscriptPage:
        """The newest `limit` messages below `before` (or of all)."""
        page = PageRequest(before=before, limit=limit)
        return await self.container.routing.transcript(self.conversation_id, page=page)

    async def _on_typing(self) -> None:
        loop = asyncio.get_running_loop()
        if self._last_typing and loop.time() - self._last_typing < self.limits.typing_interval_seconds:
            return
        self._last_typing = loop.time()
        await self.container.routing.client_typing(self.conversation_id)

    async def _ready(self, client_msg_id: str | None = None) -> bool:
        if not self.transcript.resumed:
            await self.send(envelopes.error("not_resumed", client_msg_id=client_msg_id))
            return False
        if not self.runtime.message_buckets.take(self.client_id):
            await self.violation("rate_limited", client_msg_id=client_msg_id)
            return False
        return True

    async def _on_text_message(self, frame: SendText) -> None:
        client_msg_id = frame.client_msg_id
        if client_msg_id and (seq := self.runtime.seen(self.client_id, client_msg_id)) is not None:
            await self.send({"type": "ack", "client_msg_id": client_msg_id, "seq": seq, "duplicate": True})
            return
        try:
            turn = self.container.flow.read_text(frame.text)
        except ValidationFailed:
            code = "empty_text" if not frame.text.strip() else "text_too_long"
            await self.send(envelopes.error(code, client_msg_id=client_msg_id))
            return
        if not await self._ready(client_msg_id):
            return
        self._last_typing = 0.0
        seq = await self.turns.take(turn, client_msg_id)
        if client_msg_id and seq is not None:
            await self.send({"type": "ack", "client_msg_id": client_msg_id, "seq": seq})

    async def _on_feedback(self, resolved: bool) -> None:
        if not await self._ready():
            return
        if not can_rate(self.state):
            await self.send(envelopes.error("not_allowed"))
            return
        await self.turns.take(Rating(resolved), None)

    async def _on_rating(self, score: int) -> None:
        if not await self._ready():
            return
        try:
            await self.container.routing.rate(self.conversation_id, score, Channel.WIDGET)
        except AlreadyRated:
            await self.send(envelopes.error("already_rated"))
        except ValidationFailed:
            await self.send(envelopes.error("nothing_to_rate"))
        else:
            await self.send({"type": "rated", "score": score})

    async def _on_ask_human(self) -> None:
        if not await self._ready():
            return
        if not bot_owns(self.state):
            await self.send(envelopes.error("not_allowed", message="您已在人工服务流程中，请稍候。"))
            return
        await self.turns.take(HumanRequest(), None)

    # ---------------------------------------------------------------- events

    async def on_events(self, burst: Burst) -> None:
        """Send what a burst of events calls for: new messages and typing in order, then the state once."""
        newest_seq, refresh = 0, False
        for event in burst:
            if isinstance(event, Resync):
                await self._catch_up(0, False, resync=True)
                newest_seq, refresh = 0, False
            elif conversation_of(event) != self.conversation_id:
                refresh = True
            elif isinstance(event, Typing):
                await self._catch_up(newest_seq, refresh)
                newest_seq, refresh = 0, False
                if event.sender != SenderKind.CLIENT:
                    await self.send(envelopes.typing(event.sender, event.name))
            elif isinstance(event, MessageAdded):
                if not self.transcript.knows(event.seq):
                    newest_seq = max(newest_seq, event.seq)
            elif event.kind in STATE_EVENTS and self.facts.may_change(event):
                refresh = True
        await self._catch_up(newest_seq, refresh)

    async def _catch_up(self, newest_seq: int, refresh: bool, resync: bool = False) -> None:
        """Read the messages after the last one sent and the facts, as asked (at the end of a running turn)."""
        if self.turns.defer(newest_seq, refresh, resync):
            return
        if resync:
            await self.transcript.catch_up()
            await self.facts.refresh(force=True)
            return
        if not self.transcript.knows(newest_seq):
            await self.transcript.catch_up()
        if refresh:
            await self.facts.refresh()
