"""Assembles the WeCom channel from the building blocks: one call from the composition root.

``wecom_callback_router()`` is mounted once when the app is created; it serves the channel found on
``app.state.wecom`` (503 while there is none, or it has not started). ``build_wecom_channel``
returns a WeComChannel; ``start()`` subscribes to routing's events (replies to WeCom clients, staff
notifications), starts the outbox drainer, the inbox retries and the inbox expiry, and catches up
on replies a restart may have missed; ``stop()`` undoes all of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from fastapi import APIRouter, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.flow import ConversationFlow
from handoff_api.wecom.client import WeComClient
from handoff_api.wecom.drainer import OutboxDrainer
from handoff_api.wecom.inbound import WeComClientChannel
from handoff_api.wecom.inbox import InboxRetention, InboxRetryPolicy
from handoff_api.wecom.notifications import EscalationNotifier, StaffReplyHandler
from handoff_api.wecom.processor import CallbackProcessor, WeComDeps
from handoff_api.wecom.replies import ReplyRelay
from handoff_api.wecom.router import make_wecom_router
from handoff_api.wecom.settings import WeComChannelSettings
from handoff_api.wecom.store import ConversationLinks, SqlInbox, SqlOutbox
from handoff_api.wecom.tasks import BackgroundTaskSet
from handoff_api.wecom.token_cache import MemoryTokenCache, RedisTokenCache, TokenCache
from routing.events import to_wire
from routing.memory import SystemClock
from routing.ports import Clock, EventBus, IdempotencyStore, Subscription
from routing.records import Record
from routing.service import RoutingService

logger = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
LISTEN_POLL_SECONDS = 0.5
STOP_TIMEOUT_SECONDS = 5.0


def inbox_retention(settings: WeComChannelSettings) -> InboxRetention:
    """How long accepted callbacks are kept once handled (or given up)."""
    return InboxRetention(
        handled_days=settings.inbox_retention_days,
        failed_days=settings.inbox_failed_retention_days,
        interval_seconds=settings.inbox_expiry_interval_seconds,
    )


def inbox_retry_policy(settings: WeComChannelSettings) -> InboxRetryPolicy:
    """How accepted callbacks whose handling failed are retried."""
    return InboxRetryPolicy(
        max_attempts=settings.inbox_max_attempts,
        backoff_base_seconds=settings.inbox_backoff_seconds,
        interval_seconds=settings.inbox_retry_interval_seconds,
    )


class OrderedDispatcher:
    """Runs jobs in the background, in submission order per key (one conversation's messages stay in order)."""

    def __init__(self, tasks: BackgroundTaskSet) -> None:
        self._tasks = tasks
        self._pending: dict[str, deque[Job]] = {}

    def submit(self, key: str, job: Job) -> None:
        """Queue job after the key's earlier jobs."""
        pending = self._pending.get(key)
        if pending is not None:
            pending.append(job)
            return
        self._pending[key] = deque([job])
        self._tasks.spawn(self._drain(key), name=f"wecom-events:{key}")

    async def _drain(self, key: str) -> None:
        pending = self._pending[key]
        try:
            while pending:
                job = pending.popleft()
                try:
                    await job()
                except Exception:
                    logger.exception("wecom event job for %s failed", key)
        finally:
            del self._pending[key]


class WeComChannel:
    """The running WeCom channel: the callback processor plus its background work."""

    def __init__(
        self,
        *,
        deps: WeComDeps,
        processor: CallbackProcessor,
        client: WeComClient,
        drainer: OutboxDrainer,
        relay: ReplyRelay,
        notifier: EscalationNotifier,
        inbound: WeComClientChannel,
        links: ConversationLinks,
        events: EventBus,
        catch_up_hours: float,
        clock: Clock,
    ) -> None:
        self.deps = deps
        self.processor = processor
        self.client = client
        self.drainer = drainer
        self.relay = relay
        self.notifier = notifier
        self.inbound = inbound
        self.links = links
        self._events = events
        self._catch_up = timedelta(hours=catch_up_hours)
        self._clock = clock
        self._jobs = BackgroundTaskSet()
        self._dispatcher = OrderedDispatcher(self._jobs)
        self._stop = asyncio.Event()
        self._subscription: Subscription | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._started = False

    @property
    def started(self) -> bool:
        """True from the end of start() until stop() begins: callbacks are taken only then."""
        return self._started

    async def start(self) -> None:
        """Subscribe to routing's events, start the drainer, retries and expiry, catch up (the schema is Alembic's)."""
        self._stop.clear()
        self._subscription = await self._events.subscribe()
        self._loops = [
            asyncio.create_task(self._listen(self._subscription), name="wecom-events"),
            asyncio.create_task(self.drainer.run(self._stop), name="wecom-outbox-drainer"),
            asyncio.create_task(self.processor.inbox.run(self._stop), name="wecom-inbox-retries"),
            asyncio.create_task(self.processor.inbox.run_expiry(self._stop), name="wecom-inbox-expiry"),
        ]
        if self._catch_up > timedelta(0):
            self._jobs.spawn(self._catch_up_once(), name="wecom-catch-up")
        self._started = True
        logger.info("wecom channel started")

    async def stop(self) -> None:
        """Stop taking callbacks, listening and draining, let running work finish, close the HTTP client."""
        self._started = False
        self._stop.set()
        for task in self._loops:
            task.cancel()
        if self._loops:
            _done, stuck = await asyncio.wait(self._loops, timeout=STOP_TIMEOUT_SECONDS)
            for task in stuck:
                logger.error("wecom background loop %s did not stop in time", task.get_name())
        self._loops = []
        if self._subscription is not None:
            try:
                await asyncio.wait_for(self._subscription.close(), timeout=STOP_TIMEOUT_SECONDS)
            except TimeoutError:
                logger.error("wecom event subscription did not close in time")
            self._subscription = None
        await self.deps.tasks.aclose()
        await self._jobs.aclose()
        await self.client.aclose()
        logger.info("wecom channel stopped")

    async def idle(self) -> None:
        """Wait until every callback and event job started so far has finished (tests, shutdown)."""
        await self.deps.tasks.join()
        await self._jobs.join()

    def dispatch(self, event: Mapping[str, object]) -> None:
        """Hand one routing event to the relay and the notifier, in order per conversation."""
        event_type = event.get("type")
        if event_type not in {"message", "escalated"}:
            return
        key = str(event.get("conversation_id") or "-")
        if event_type == "message":
            self._dispatcher.submit(key, lambda: self.relay.handle(event))
        else:
            self._dispatcher.submit(key, lambda: self.notifier.handle(event))

    async def _listen(self, subscription: Subscription) -> None:
        # Polls rather than iterating for ever, so that stop() ends it even if a cancellation is lost
        # inside the Redis client (a cancel racing a read timeout can surface as a plain timeout).
        while not self._stop.is_set():
            try:
                event = await subscription.next_event(LISTEN_POLL_SECONDS)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("wecom event subscription failed; listening again in 1s")
                await asyncio.sleep(1.0)
                continue
            if event is not None:
                self.dispatch(to_wire(event))

    async def _catch_up_once(self) -> None:
        relayed = await self.relay.catch_up(self._clock.now() - self._catch_up)
        if relayed:
            logger.info("wecom: caught up on %d replies missed while stopped", relayed)


def _token_cache(redis: Redis | None) -> TokenCache:
    return RedisTokenCache(redis) if redis is not None else MemoryTokenCache()


def build_wecom_channel(
    settings: WeComChannelSettings,
    *,
    routing: RoutingService,
    flow: ConversationFlow,
    record: Record,
    events: EventBus,
    idempotency: IdempotencyStore,
    engine: AsyncEngine,
    redis: Redis | None,
    console_base_url: str,
    clock: Clock | None = None,
) -> WeComChannel:
    """Wire crypto, client, outbox, drainer, inbound handler, relay and notifier; nothing runs until start()."""
    if not settings.enabled:
        raise ValueError("the WeCom channel is disabled (WECOM_ENABLED=false)")
    clock = clock or SystemClock()
    outbox = SqlOutbox(engine, clock)
    client = WeComClient(
        corp_id=settings.corp_id,
        secret=settings.secret,
        agent_id=settings.agent_id,
        token_cache=_token_cache(redis),
        outbox=outbox,
        base_url=settings.api_base_url,
        max_attempts=settings.send_attempts,
        backoff_base_seconds=settings.send_backoff_seconds,
        outbox_retry_delay_seconds=settings.outbox_retry_seconds,
        clock=clock,
    )
    drainer = OutboxDrainer(
        outbox,
        client,
        interval_seconds=settings.drain_interval_seconds,
        backoff_base_seconds=settings.drain_backoff_seconds,
        max_attempts=settings.drain_max_attempts,
        clock=clock,
    )
    links = ConversationLinks(engine)
    default_open_kfid = settings.open_kfid or None
    staff_replies = StaffReplyHandler(record=record, routing=routing, sender=client)
    inbound = WeComClientChannel(
        record=record,
        routing=routing,
        flow=flow,
        links=links,
        sender=client,
        staff_messages=staff_replies,
        guest_branch=settings.guest_branch,
        default_open_kfid=default_open_kfid,
        clock=clock,
    )
    relay = ReplyRelay(
        record=record,
        links=links,
        sender=client,
        idempotency=idempotency,
        default_open_kfid=default_open_kfid,
        claim_ttl_seconds=settings.dedup_ttl_seconds,
    )
    notifier = EscalationNotifier(
        record=record,
        sender=client,
        idempotency=idempotency,
        console_base_url=console_base_url,
        responder_limit_seconds=routing.settings.responder_limit_seconds,
        timezone=routing.settings.timezone,
        clock=clock,
    )
    deps = WeComDeps.from_settings(
        settings,
        handler=inbound,
        outbound=client,
        inbox=SqlInbox(engine, clock),
        inbox_retry=inbox_retry_policy(settings),
        inbox_retention=inbox_retention(settings),
        clock=clock,
    )
    processor = CallbackProcessor(deps)
    return WeComChannel(
        deps=deps,
        processor=processor,
        client=client,
        drainer=drainer,
        relay=relay,
        notifier=notifier,
        inbound=inbound,
        links=links,
        events=events,
        catch_up_hours=settings.catch_up_hours,
        clock=clock,
    )


def started_processor(request: Request) -> CallbackProcessor | None:
    """The callback processor of the app's WeCom channel, or None until it has started (and once it stops)."""
    channel = getattr(request.app.state, "wecom", None)
    if isinstance(channel, WeComChannel) and channel.started:
        return channel.processor
    return None


def wecom_callback_router() -> APIRouter:
    """The callback router the app mounts once; each request finds the started channel on app.state.wecom."""
    return make_wecom_router(started_processor)
