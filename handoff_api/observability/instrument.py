"""Counting at the edges of the ports, so routing and the bot client stay free of metrics code.

- `CountingEventBus` wraps routing's EventBus and counts escalations, ladder steps and agent joins as they are
  published. It counts on publish, not on receipt: with Redis every worker's hub receives every event, so
  counting what the hub fans out would count each event once per worker.
- `TimedBot` wraps the Rasa REST client (handoff_api.bot_client.RasaRestClient) and times each call.
- `CountingBot` wraps the whole tier 1 (Rasa, or the API's own index while Rasa is away) and counts each turn
  by the band of its reply: the one place the API receives a bot reply.
"""

from __future__ import annotations

import time

from handoff_api.bot_client import BotClient, BotPayload, BotUnavailable
from handoff_api.observability.metrics import Metrics, band_of
from routing.events import AgentJoined, Escalated, Queued, RoutingEvent
from routing.ports import EventBus, Subscription

RESPONDER_QUEUE = "responder"
"""The `queue` label of a hand-over to tier 3 (the assigned responder, backup or duty manager)."""
UNKNOWN = "unknown"


class CountingEventBus:
    """An EventBus that counts hand-overs as they are published, then publishes."""

    def __init__(self, inner: EventBus, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def inner(self) -> EventBus:
        """The wrapped bus."""
        return self._inner

    async def publish(self, event: RoutingEvent) -> None:
        """Count, then deliver."""
        self.count(event)
        await self._inner.publish(event)

    async def subscribe(self) -> Subscription:
        """The wrapped bus's subscription."""
        return await self._inner.subscribe()

    def count(self, event: RoutingEvent) -> None:
        """The counters this event moves."""
        metrics = self._metrics
        if isinstance(event, Queued):
            metrics.escalations.labels(reason=event.reason or UNKNOWN, queue=event.queue, tier="2").inc()
        elif isinstance(event, Escalated) and event.step is None:
            metrics.escalations.labels(reason=event.reason, queue=RESPONDER_QUEUE, tier=str(event.tier)).inc()
        elif isinstance(event, Escalated):
            metrics.ladder_steps.labels(step=event.step).inc()
        elif isinstance(event, AgentJoined):
            metrics.agent_joins.labels(tier=str(event.tier)).inc()


class TimedBot:
    """A BotClient whose `send` calls are timed, by outcome (ok, unavailable, error)."""

    def __init__(self, inner: BotClient, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        """The inner client's payloads; the call's duration is observed either way."""
        started = time.perf_counter()
        outcome = "error"
        try:
            payloads = await self._inner.send(conversation_id, text)
            outcome = "ok"
            return payloads
        except BotUnavailable:
            outcome = "unavailable"
            raise
        finally:
            self._metrics.rasa_duration.labels(outcome=outcome).observe(time.perf_counter() - started)

    async def ping(self) -> bool:
        """The inner client's ping (not timed: health checks are not turns)."""
        return await self._inner.ping()


class CountingBot:
    """A BotClient that counts each turn by the band of its reply."""

    def __init__(self, inner: BotClient, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def inner(self) -> BotClient:
        """The wrapped tier 1."""
        return self._inner

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        """The inner tier 1's payloads, counted by band."""
        payloads = await self._inner.send(conversation_id, text)
        self._metrics.bot_turns.labels(band=band_of(payloads)).inc()
        return payloads

    async def ping(self) -> bool:
        """The inner tier 1's ping."""
        return await self._inner.ping()
