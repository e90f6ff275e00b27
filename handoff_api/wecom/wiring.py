"""Assembles the WeCom channel from the building blocks: one call from the composition root.

``wecom_callback_router()`` is mounted once when the app is created; it serves the channel found on
``app.state.wecom`` (503 while there is none, or it has not started). ``build_wecom_channel``
returns a WeComChannel; ``start()`` listens to routing's events on the shared realtime hub (replies
to WeCom clients, staff notifications: handoff_api.wecom.listener), starts the outbox drainer, the
inbox retries and the inbox expiry, and catches up on replies a restart may have missed; ``stop()``
undoes all of it.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from fastapi import APIRouter, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.flow import ConversationFlow
from handoff_api.realtime import RealtimeHub
from handoff_api.wecom.client import WeComClient
from handoff_api.wecom.drainer import OutboxDrainer
from handoff_api.wecom.inbound import WeComClientChannel
from handoff_api.wecom.inbox import InboxRetention, InboxRetryPolicy
from handoff_api.wecom.listener import WeComEventListener
from handoff_api.wecom.notifications import EscalationNotifier, StaffReplyHandler
from handoff_api.wecom.processor import CallbackProcessor, WeComDeps
from handoff_api.wecom.replies import ReplyRelay
from handoff_api.wecom.router import make_wecom_router
from handoff_api.wecom.settings import WeComChannelSettings
from handoff_api.wecom.store import ConversationLinks, SqlInbox, SqlOutbox
from handoff_api.wecom.token_cache import MemoryTokenCache, RedisTokenCache, TokenCache
from routing.memory import SystemClock
from routing.ports import Clock, IdempotencyStore
from routing.records import Record
from routing.service import RoutingService

logger = logging.getLogger(__name__)

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


class WeComChannel:
    """The running WeCom channel: the callback processor plus its background work."""

    def __init__(
        self,
        *,
        deps: WeComDeps,
        processor: CallbackProcessor,
        client: WeComClient,
        drainer: OutboxDrainer,
        events: WeComEventListener,
        inbound: WeComClientChannel,
        links: ConversationLinks,
    ) -> None:
        self.deps = deps
        self.processor = processor
        self.client = client
        self.drainer = drainer
        self.events = events
        self.inbound = inbound
        self.links = links
        self._stop = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._started = False

    @property
    def started(self) -> bool:
        """True from the end of start() until stop() begins: callbacks are taken only then."""
        return self._started

    async def start(self) -> None:
        """Listen to routing's events, start the drainer, retries and expiry, catch up (the schema is Alembic's)."""
        self._stop.clear()
        self.events.start()
        self._loops = [
            asyncio.create_task(self.drainer.run(self._stop), name="wecom-outbox-drainer"),
            asyncio.create_task(self.processor.inbox.run(self._stop), name="wecom-inbox-retries"),
            asyncio.create_task(self.processor.inbox.run_expiry(self._stop), name="wecom-inbox-expiry"),
        ]
        self._started = True
        logger.info("wecom channel started")

    async def stop(self) -> None:
        """Stop taking callbacks, listening and draining, let running work finish, close the HTTP client."""
        self._started = False
        self._stop.set()
        if self._loops:
            _done, stuck = await asyncio.wait(self._loops, timeout=STOP_TIMEOUT_SECONDS)
            for task in stuck:
                logger.error("wecom background loop %s did not stop in time", task.get_name())
                task.cancel()
        self._loops = []
        await self.events.stop()
        await self.deps.tasks.aclose()
        await self.client.aclose()
        logger.info("wecom channel stopped")

    async def idle(self) -> None:
        """Wait until every callback and event job started so far has finished (tests, shutdown)."""
        await self.deps.tasks.join()
        await self.events.idle()


def _token_cache(redis: Redis | None) -> TokenCache:
    return RedisTokenCache(redis) if redis is not None else MemoryTokenCache()


def build_wecom_channel(
    settings: WeComChannelSettings,
    *,
    routing: RoutingService,
    flow: ConversationFlow,
    record: Record,
    hub: RealtimeHub,
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
    events = WeComEventListener(hub, relay, notifier, catch_up=timedelta(hours=settings.catch_up_hours), clock=clock)
    return WeComChannel(
        deps=deps,
        processor=processor,
        client=client,
        drainer=drainer,
        events=events,
        inbound=inbound,
        links=links,
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
