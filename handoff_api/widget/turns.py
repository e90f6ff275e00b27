"""Client turns over the widget: each turn is shown from its own result, not re-read from the record.

A turn's words are shown as soon as they are stored (`ConversationFlow.accept`), its replies once the
flow has acted (`respond`), and the state only when the turn moved the conversation. While a turn
runs, events leave their work (reading the transcript or the facts) to the turn's end, which does it
once: the events the turn itself caused then find nothing left to read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocketDisconnect

from handoff_api.bot_client import BotUnavailable
from handoff_api.client_input import ClientInput
from handoff_api.flow import AcceptedTurn, ConversationFlow, FlowResult
from handoff_api.realtime import finish_then_cancel
from handoff_api.widget import envelopes
from handoff_api.widget.client_state import ClientStateFeed
from handoff_api.widget.envelopes import Envelope
from handoff_api.widget.runtime import WidgetRuntime
from handoff_api.widget.transcript import TranscriptFeed
from routing.errors import RoutingError

log = logging.getLogger(__name__)

Send = Callable[[Mapping[str, Any]], Awaitable[None]]


@dataclass
class Backlog:
    """Work that events asked for while a turn ran: the newest unsent seq, a facts refresh, a full resync."""

    newest_seq: int = 0
    refresh: bool = False
    resync: bool = False


@dataclass
class TurnOutcome:
    """How far a turn got: its words stored (`accepted`), then acted on (`result`)."""

    accepted: AcceptedTurn | None = None
    result: FlowResult | None = None

    @property
    def stored_seq(self) -> int | None:
        """The seq of the stored client message, once stored."""
        return self.accepted.client_message.seq if self.accepted else None

    @property
    def moved(self) -> bool:
        """The turn changed the conversation (a transition), or failed and cannot say."""
        if self.accepted is None or self.result is None:
            return True
        return self.result.conversation.version != self.accepted.opened_in.version


class TurnRunner:
    """Runs one connection's client turns through the flow and shows their results."""

    def __init__(
        self,
        flow: ConversationFlow,
        runtime: WidgetRuntime,
        *,
        conversation_id: str,
        client_id: str,
        transcript: TranscriptFeed,
        facts: ClientStateFeed,
        send: Send,
    ) -> None:
        self._flow = flow
        self._runtime = runtime
        self._conversation_id = conversation_id
        self._client_id = client_id
        self._transcript = transcript
        self._facts = facts
        self._send = send
        self._backlog: Backlog | None = None

    def defer(self, newest_seq: int, refresh: bool, resync: bool = False) -> bool:
        """Leave an event's work to the end of the running turn; False when no turn runs."""
        backlog = self._backlog
        if backlog is None:
            return False
        backlog.newest_seq = max(backlog.newest_seq, newest_seq)
        backlog.refresh = backlog.refresh or refresh
        backlog.resync = backlog.resync or resync
        return True

    async def take(self, turn: ClientInput, client_msg_id: str | None) -> int | None:
        """Hand the turn to the flow and show its result; the seq of the stored client message, if stored."""
        outcome = TurnOutcome()
        problem: Envelope | None = None
        self._backlog = Backlog()
        try:
            await finish_then_cancel(self._run(turn, client_msg_id, outcome))
        except BotUnavailable:
            problem = envelopes.error("bot_unavailable", client_msg_id=client_msg_id)
        except RoutingError as exc:
            log.info("widget message refused: %s", exc)
            problem = envelopes.error("not_allowed", client_msg_id=client_msg_id)
        finally:
            await self._finish(outcome, problem)
        return outcome.stored_seq

    async def _run(self, turn: ClientInput, client_msg_id: str | None, outcome: TurnOutcome) -> None:
        """Store the words and show them at once, then let the flow act (to the end, even if the socket goes)."""
        outcome.accepted = accepted = await self._flow.accept(self._conversation_id, turn, client_msg_id)
        stored = accepted.client_message
        if client_msg_id:
            self._runtime.remember(self._client_id, client_msg_id, stored.seq)
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            await self._transcript.deliver([stored], {stored.seq: client_msg_id} if client_msg_id else None)
        outcome.result = await self._flow.respond(accepted)

    async def _finish(self, outcome: TurnOutcome, problem: Envelope | None) -> None:
        """Replies, anything else new (a hand-over comes with routing's own notices), the problem, the state."""
        backlog, self._backlog = self._backlog or Backlog(), None
        if outcome.result is not None:
            await self._transcript.deliver(outcome.result.replies)
        if backlog.resync or outcome.moved or not self._transcript.knows(backlog.newest_seq):
            await self._transcript.catch_up()
        if problem is not None:
            await self._send(problem)
        if backlog.resync:
            await self._facts.refresh(force=True)
        elif backlog.refresh or outcome.result is None or self._facts.shown is None:
            await self._facts.refresh()
        elif outcome.moved:
            await self._facts.settle(outcome.result.conversation)
