"""The composition root: the only module that wires concrete adapters together.

`create_app()` is what uvicorn runs (`uvicorn handoff_api.main:create_app --factory`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from pydantic import SecretStr
from rasa_sdk.executor import ActionExecutor
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.actions_route import make_actions_router
from handoff_api.api_keys import ApiKeyRegistry, SqlApiKeyStore
from handoff_api.body_limit import BodyLimitMiddleware
from handoff_api.bot_client import BotClient, RasaRestClient
from handoff_api.classifier import FixedQueueClassifier, NearestEntriesClassifier
from handoff_api.console import router as console_router
from handoff_api.container import Container
from handoff_api.conversations.routes import router as conversations_router
from handoff_api.errors import error_responses, install_error_handlers
from handoff_api.flow import ConversationFlow
from handoff_api.health import router as health_router
from handoff_api.health_checks import (
    Check,
    calendar_check,
    database_check,
    index_check,
    rasa_check,
    redis_check,
)
from handoff_api.learning.routes import router as learning_router
from handoff_api.learning.wiring import build_learning
from handoff_api.local_tier1 import LocalTier1, ResilientBot
from handoff_api.log_filters import install_log_masking
from handoff_api.observability.collectors import BacklogSource, Sources
from handoff_api.observability.instrument import CountingBot, CountingEventBus, TimedBot
from handoff_api.observability.logging import configure_logging
from handoff_api.observability.metrics import Metrics
from handoff_api.observability.middleware import ObservabilityMiddleware
from handoff_api.observability.routes import Observability
from handoff_api.observability.routes import router as metrics_router
from handoff_api.periodic import run_every
from handoff_api.rate_limits import RateLimiter
from handoff_api.realtime import RealtimeHub
from handoff_api.settings import Settings
from handoff_api.staff.passwords import PasswordVerifier
from handoff_api.staff.reports import router as reports_router
from handoff_api.staff.routes import router as staff_router
from handoff_api.staff.session_routes import router as staff_session_router
from handoff_api.startup import freeze_startup_heap, startup_lock
from handoff_api.startup_checks import refuse_demo_passwords
from handoff_api.token_secrets import client_token_secret, staff_token_secret
from handoff_api.wecom.router import DEFAULT_CALLBACK_PATH
from handoff_api.wecom.store import SqlInbox, SqlOutbox
from handoff_api.wecom.wiring import WeComChannel, build_wecom_channel, wecom_callback_router
from handoff_api.widget import router as widget_router
from knowledge_base.service import FaqService, shared_service
from routing.directory_import import seed_demo
from routing.memory import (
    MemoryEventBus,
    MemoryIdempotencyStore,
    MemoryPresenceStore,
    MemoryQueueStore,
    SystemClock,
)
from routing.ports import Clock, EventBus, IdempotencyStore, PresenceStore, QueueStore
from routing.records import Record
from routing.redis_ports import connect, redis_ports
from routing.service import RoutingService
from routing.settings import RoutingSettings
from routing.sql_canned import SqlCannedReplies
from routing.sql_record import SqlRecord, create_engine_for, migrate_async
from routing.sql_sessions import SqlRefreshTokenStore

log = logging.getLogger("handoff_api")

ACTIONS_PACKAGE = "bot.actions"
SHUTDOWN_TICK_SECONDS = 30.0
"""How long shutdown waits for the current routing tick, and for the database pool to close."""


@dataclass
class Stores:
    """The fast shared state behind routing's ports: Redis when REDIS_URL is set, else in-process memory."""

    queues: QueueStore
    presence: PresenceStore
    events: EventBus
    idempotency: IdempotencyStore
    redis: Redis | None = None


def build_stores(settings: Settings, routing_settings: RoutingSettings, clock: Clock) -> Stores:
    """Redis adapters when REDIS_URL is set, memory adapters otherwise."""
    if settings.redis_url:
        ports = redis_ports(connect(settings.redis_url), clock, routing_settings.redis_key_prefix)
        return Stores(ports.queues, ports.presence, ports.events, ports.idempotency, ports.client)
    return Stores(MemoryQueueStore(clock), MemoryPresenceStore(clock), MemoryEventBus(), MemoryIdempotencyStore(clock))


def load_knowledge_base(settings: Settings, given: FaqService | None = None) -> FaqService | None:
    """The FAQ index shared with the in-process actions (or the one given), or None (health says why)."""
    if given is not None:
        return given
    try:
        return shared_service(settings.kb_index_dir)
    except Exception as exc:  # the API still serves humans without tier-1 retrieval
        log.error("FAQ index at %s unavailable: %s", settings.kb_index_dir, exc)
        return None


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def make_action_executor() -> ActionExecutor:
    """rasa-sdk's executor with the bot's actions registered by package name, as `rasa run actions` does."""
    executor = ActionExecutor()
    executor.register_package(ACTIONS_PACKAGE)
    return executor


def health_checks(
    engine: AsyncEngine,
    bot: BotClient,
    kb: FaqService | None,
    stores: Stores,
    *,
    settings: Settings,
    limits: RoutingSettings,
) -> dict[str, Check]:
    """One check per dependency: the database and Redis are required for readiness, the rest is soft."""
    checks = {"database": database_check(engine)}
    if stores.redis is not None:
        checks["redis"] = redis_check(stores.redis)
    checks["rasa"] = rasa_check(bot, len(settings.rasa_urls))
    checks["index"] = index_check(kb)
    checks["calendar"] = calendar_check(limits.calendar_warning, lambda: datetime.now(ZoneInfo(limits.timezone)).date())
    return checks


async def tick_until(stop: asyncio.Event, routing: RoutingService, seconds: float, metrics: Metrics) -> None:
    """Auto-assignment, wait limits and the responder ladder, run periodically until `stop` is set."""

    async def one_tick() -> None:
        metrics.count_repairs((await routing.tick()).repairs)

    await run_every(seconds, stop, one_tick, "routing tick")


async def open_record(settings: Settings) -> tuple[AsyncEngine, Record]:
    """Migrate the database and, in development, seed the demo directory; one worker at a time.

    Production seeds nothing and refuses to start while any staff account has the demo password.
    """
    async with startup_lock(settings.database_url):
        await migrate_async(settings.database_url)
        engine = create_engine_for(settings.database_url)
        record = SqlRecord(engine)
        try:
            if settings.seeds_demo_directory and not await record.list_staff():
                await seed_demo(record)
                log.info("seeded the demo directory (development mode)")
            if not settings.is_development:
                await refuse_demo_passwords(record)
        except Exception as exc:
            log.critical("%s", exc)
            await engine.dispose()
            raise
    return engine, record


def build_rate_limiter(stores: Stores, settings: Settings, limits: RoutingSettings) -> RateLimiter:
    """Request limits shared through Redis (the stores' pool) when REDIS_URL is set, else in this process."""
    if stores.redis is not None and settings.redis_url:
        prefix = f"{limits.redis_key_prefix}ratelimit"
        return RateLimiter.for_redis(settings.redis_url, prefix, stores.redis.connection_pool)
    return RateLimiter.in_memory()


def build_wecom(
    settings: Settings, container: Container, stores: Stores, record: Record, engine: AsyncEngine, *, clock: Clock
) -> WeComChannel | None:
    """The WeCom channel when WECOM_ENABLED is set."""
    if not settings.wecom.enabled:
        return None
    return build_wecom_channel(
        settings.wecom,
        routing=container.routing,
        flow=container.flow,
        record=record,
        hub=container.hub,
        idempotency=stores.idempotency,
        engine=engine,
        redis=stores.redis,
        console_base_url=settings.wecom.console_base_url or settings.base_url,
        clock=clock,
    )


@dataclass
class Running:
    """One started engine: what the routes use, and what shutdown must stop."""

    container: Container
    engine: AsyncEngine
    stores: Stores
    rasa: BotClient
    wecom: WeComChannel | None
    stop_ticking: asyncio.Event
    ticker: asyncio.Task[None]
    clock: Clock


def scrape_sources(running: Running) -> Sources:
    """What /metrics reads at scrape time: routing's queue figures, the WeCom stores, the loaded index."""
    container = running.container
    backlogs: dict[str, BacklogSource] = {}
    if running.wecom is not None:
        backlogs = {"outbox": SqlOutbox(running.engine), "inbox": SqlInbox(running.engine)}

    def index_info() -> dict[str, object] | None:
        return container.knowledge_base.info() if container.knowledge_base is not None else None

    return Sources(routing=container.routing, clock=running.clock, index_info=index_info, backlogs=backlogs)


async def start_engine(
    settings: Settings,
    bot: BotClient | None,
    limits: RoutingSettings,
    metrics: Metrics,
    kb_given: FaqService | None = None,
) -> Running:
    """Open the record, the stores, the index, routing, tier 1, the hub, WeCom and the routing tick."""
    engine, record = await open_record(settings)
    clock = SystemClock()
    stores = build_stores(settings, limits, clock)
    stores.events = CountingEventBus(stores.events, metrics)  # counted where published: once, whichever worker
    kb = load_knowledge_base(settings, kb_given)
    classifier = NearestEntriesClassifier(kb) if kb else FixedQueueClassifier()
    routing = RoutingService(
        record,
        stores.queues,
        stores.presence,
        stores.events,
        stores.idempotency,
        clock,
        classifier,
        limits,
        canned=SqlCannedReplies(engine),
    )
    await routing.rebuild_if_emptied()  # not when another worker already serves from intact stores
    rasa = bot or RasaRestClient(
        settings.rasa_urls,
        settings.rasa_timeout_seconds,
        auth_token=_secret(settings.rasa_auth_token),
        keepalive_seconds=settings.rasa_keepalive_seconds,
    )
    tier1 = CountingBot(ResilientBot(TimedBot(rasa, metrics), LocalTier1(kb.retrieve if kb else None)), metrics)
    warning = limits.calendar_warning(datetime.now(ZoneInfo(limits.timezone)).date())
    if warning:
        log.warning("%s", warning)
    hub = RealtimeHub(stores.events)
    await hub.start()
    learning = build_learning(settings, engine, routing, kb)
    await learning.start()
    container = Container(
        settings=settings,
        routing=routing,
        flow=ConversationFlow(routing, tier1, settings.max_message_chars, learning.evidence),
        bot=tier1,
        hub=hub,
        knowledge_base=kb,
        health_checks=health_checks(engine, tier1, kb, stores, settings=settings, limits=limits),
        api_keys=ApiKeyRegistry(SqlApiKeyStore(engine)),
        rate_limiter=build_rate_limiter(stores, settings, limits),
        refresh_tokens=SqlRefreshTokenStore(engine),
        passwords=PasswordVerifier(settings.password_hash_threads),
        learning=learning,
    )
    wecom = build_wecom(settings, container, stores, record, engine, clock=clock)
    if wecom is not None:
        await wecom.start()
    stop_ticking = asyncio.Event()
    ticker = asyncio.create_task(tick_until(stop_ticking, routing, settings.tick_seconds, metrics))
    return Running(container, engine, stores, rasa, wecom, stop_ticking, ticker, clock)


async def stop_engine(running: Running) -> None:
    """Stop everything `start_engine` started, waiting a bounded time for each part."""
    if running.wecom is not None:
        await running.wecom.stop()
    await running.container.hub.stop()
    running.container.passwords.close()
    if running.container.learning is not None:
        await running.container.learning.stop()
    running.stop_ticking.set()
    try:
        await asyncio.wait_for(running.ticker, SHUTDOWN_TICK_SECONDS)
    except TimeoutError:
        log.warning("routing tick did not finish within %ss at shutdown; cancelled", SHUTDOWN_TICK_SECONDS)
    if isinstance(running.rasa, RasaRestClient):
        await running.rasa.aclose()
    if running.stores.redis is not None:
        await running.stores.redis.aclose()
    try:
        await asyncio.wait_for(running.engine.dispose(), SHUTDOWN_TICK_SECONDS)
    except TimeoutError:
        log.warning("database connections did not close within %ss at shutdown", SHUTDOWN_TICK_SECONDS)


def check_signing_secrets(settings: Settings) -> None:
    """Resolve the token secrets now (in development this makes var/secret_key once), so a problem stops start-up."""
    staff_token_secret(settings)
    client_token_secret(settings)
    if settings.is_development:
        source = "SECRET_KEY" if settings.secret_key else str(settings.secret_file)
        log.info("development mode: listening on loopback only; tokens are signed with secrets from %s", source)


def create_app(
    settings: Settings | None = None,
    *,
    bot: BotClient | None = None,
    routing_settings: RoutingSettings | None = None,
    knowledge_base: FaqService | None = None,
) -> FastAPI:
    """Build the API: settings are validated here, so production without its own secrets refuses to start."""
    settings = settings or Settings()
    configure_logging(settings)  # structured lines (LOG_FORMAT), request and conversation ids in every line
    check_signing_secrets(settings)
    install_log_masking()  # uvicorn has set up its loggers by now: mask tokens and personal data in every record
    executor = make_action_executor()
    observability = Observability.create(_secret(settings.metrics_token))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        running = await start_engine(
            settings, bot, routing_settings or RoutingSettings(), observability.metrics, knowledge_base
        )
        app.state.container = running.container
        observability.scraped.attach(scrape_sources(running))
        app.state.wecom = running.wecom  # from now on the callback router serves it
        freeze_startup_heap()
        try:
            yield
        finally:
            app.state.wecom = None  # callbacks get 503 again, so WeCom delivers them once more later
            observability.scraped.attach(None)
            await stop_engine(running)

    docs = settings.serves_api_docs
    app = FastAPI(
        title="Tiered Response Engine",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        responses=error_responses(503),  # any route, while a store (PostgreSQL, Redis) is briefly unreachable
    )
    install_error_handlers(app)
    own_limits = {"/webhook": settings.action_max_body_bytes, DEFAULT_CALLBACK_PATH: settings.wecom.max_body_bytes}
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, per_path=own_limits)
    app.state.observability = observability
    app.add_middleware(ObservabilityMiddleware, metrics=observability.metrics)
    for router in (
        health_router,
        make_actions_router(executor, _secret(settings.action_endpoint_token), settings.action_max_body_bytes),
        conversations_router,
        staff_router,
        reports_router,
        staff_session_router,
        widget_router,
        console_router,
        metrics_router,
        learning_router,
    ):
        app.include_router(router)
    if settings.wecom.enabled:
        app.include_router(wecom_callback_router())
    return app
