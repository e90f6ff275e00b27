"""A real API app for channel tests: routing service on memory adapters, SQL record on SQLite, a fake bot.

The fake bot answers FAQ-like payloads (knowledge-base contract shapes) deterministically by keyword.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from fastapi import FastAPI
from starlette.testclient import TestClient

from handoff_api.bot_client import BotPayload, BotUnavailable
from handoff_api.container import Container
from handoff_api.errors import install_error_handlers
from handoff_api.flow import ConversationFlow
from handoff_api.realtime import RealtimeHub
from handoff_api.settings import Settings
from routing.directory_import import seed_demo
from routing.memory import MemoryEventBus, MemoryIdempotencyStore, MemoryPresenceStore, MemoryQueueStore, SystemClock
from routing.models import QueueName
from routing.records import Record
from routing.service import RoutingService
from routing.settings import RoutingSettings
from routing.sql_record import SqlRecord, create_engine_for, migrate

T = TypeVar("T")
DEMO_PASSWORD = "demo1234"
FEEDBACK_BUTTONS = [
    {"title": "问题已解答", "payload": "/feedback_resolved"},
    {"title": "问题未解答", "payload": "/feedback_unresolved"},
]
FAQ: dict[str, dict[str, Any]] = {
    "科创板": {
        "faq_id": "bg-kcb-threshold",
        "question": "科创板交易权限开通需要满足什么条件？",
        "category": "business_guide",
        "queue": "service",
        "text": "开通科创板交易权限需满足：前20个交易日日均资产不低于50万元，参与证券交易24个月以上。",
    },
    "融资融券": {
        "faq_id": "bg-margin-open",
        "question": "融资融券账户怎么开通？",
        "category": "business_guide",
        "queue": "service",
        "text": "开通融资融券需资产不低于50万元并满足交易经验要求，可预约营业部办理。",
    },
    "定投": {
        "faq_id": "wm-fund-sip",
        "question": "基金定投是什么？",
        "category": "wealth_management",
        "queue": "advisor",
        "text": "基金定投是在固定时间以固定金额投资指定基金的方式，可以平摊成本。",
    },
}
SUGGEST_WORD = "开户"
ADVICE_WORDS = ("推荐", "买哪只", "该不该买")


class FakeBot:
    """Tier 1 double: FAQ answers by keyword, suggestions, escalations and feedback like the real actions."""

    def __init__(self) -> None:
        self.last_question: dict[str, str] = {}
        self.unavailable = False
        self.delay_seconds = 0.0

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.unavailable:
            raise BotUnavailable("fake bot switched off")
        question = self.last_question.get(conversation_id, "")
        if text == "/feedback_resolved":
            return [
                {
                    "type": "feedback",
                    "resolved": True,
                    "text": "很高兴能帮到您，还有其他问题请随时提问。",
                    "faq_id": None,
                }
            ]
        if text == "/feedback_unresolved":
            return [self._escalate("client_unresolved", question, "service")]
        if text == "/ask_human":
            return [self._escalate("asked_human", question, None)]
        self.last_question[conversation_id] = text
        if text.strip() in {"你好", "您好"}:
            return [{"type": "text", "text": "您好，我是智能投顾助手，请问有什么可以帮您？"}]
        if any(word in text for word in ADVICE_WORDS):
            return [self._escalate("advice_request", text, "advisor")]
        for keyword, entry in FAQ.items():
            if keyword in text:
                return [{**entry, "type": "answer", "score": 0.93, "band": "answer", "buttons": FEEDBACK_BUTTONS}]
        if SUGGEST_WORD in text:
            suggestions = [
                {"faq_id": "bg-account-open", "question": "如何在手机上开户？", "score": 0.86},
                {"faq_id": "bg-account-docs", "question": "开户需要准备哪些材料？", "score": 0.85},
            ]
            return [
                {
                    "type": "suggestions",
                    "text": "您是不是想问：",
                    "band": "suggest",
                    "score": 0.86,
                    "suggestions": suggestions,
                    "buttons": [{"title": "转人工", "payload": "/ask_human"}],
                }
            ]
        return [self._escalate("low_score", text, None)]

    @staticmethod
    def _escalate(reason: str, question: str, hint: str | None) -> BotPayload:
        return {
            "type": "escalate",
            "text": "这个问题我需要请人工同事为您解答，正在为您转接。",
            "reason": reason,
            "queue_hint": hint,
            "question": question,
            "faq_id": None,
            "score": None,
        }

    async def ping(self) -> bool:
        return not self.unavailable


class KeywordClassifier:
    """Investment words go to advisors, the rest to service."""

    def classify(self, text: str) -> QueueName:
        advisor_words = ("基金", "股票", "推荐", "投资", "买", "理财", "定投")
        return QueueName.ADVISOR if any(word in text for word in advisor_words) else QueueName.SERVICE


RECORD_WRITES = frozenset(
    {
        "create_conversation",
        "save_transition",
        "append_message",
        "open_ticket",
        "update_ticket",
        "add_feedback",
        "audit",
        "replace_clients",
        "replace_staff",
        "set_password_hash",
    }
)
"""Record methods that write; every other method reads."""


class CountingRecord:
    """Passes every call through to a record and counts the calls by method name."""

    def __init__(self, inner: Record) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return target(*args, **kwargs)

        return counted

    @property
    def reads(self) -> int:
        """How many read calls were made since the last reset."""
        return sum(count for name, count in self.calls.items() if name not in RECORD_WRITES)

    def reset(self) -> None:
        """Start counting afresh."""
        self.calls.clear()


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on its own loop in a thread (safe beside a running test loop)."""
    results: list[T] = []
    errors: list[BaseException] = []

    def work() -> None:
        async def main() -> T:
            return await make()

        try:
            results.append(asyncio.run(main()))
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return results[0]


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def make_seeded_database(path: Path) -> Path:
    """A migrated SQLite file with the demo directory (staff password: demo1234)."""
    migrate(sqlite_url(path))

    async def seed() -> None:
        engine = create_engine_for(sqlite_url(path))
        try:
            await seed_demo(SqlRecord(engine), DEMO_PASSWORD)
        finally:
            await engine.dispose()

    run_sync(seed)
    return path


def copy_database(template: Path, target: Path) -> Path:
    shutil.copyfile(template, target)
    return target


def app_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"app_mode": "development", "max_message_chars": 500}
    values.update(overrides)
    return Settings(_env_file=None, **values)


def routing_settings() -> RoutingSettings:
    return RoutingSettings(always_open=True, tier2_wait_limit_seconds=3600, presence_ttl_seconds=3600)


def build_app(
    database: Path,
    settings: Settings | None = None,
    bot: FakeBot | None = None,
    include_staff: bool = True,
) -> FastAPI:
    """The channels over real routing + SQL, like create_app wires them, with the fake bot."""
    settings = settings or app_settings()
    fake_bot = bot or FakeBot()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine_for(sqlite_url(database))
        record = CountingRecord(SqlRecord(engine))
        clock = SystemClock()
        events = MemoryEventBus()
        app.state.record = record
        app.state.event_bus = events
        routing = RoutingService(
            cast(Record, record),
            MemoryQueueStore(clock),
            MemoryPresenceStore(clock),
            events,
            MemoryIdempotencyStore(clock),
            clock,
            KeywordClassifier(),
            routing_settings(),
        )
        flow = ConversationFlow(routing, fake_bot, settings.max_message_chars)
        hub = RealtimeHub(events)
        await hub.start()
        app.state.container = Container(
            settings=settings,
            routing=routing,
            flow=flow,
            bot=fake_bot,
            hub=hub,
        )
        try:
            yield
        finally:
            await hub.stop()
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)
    install_error_handlers(app)
    from handoff_api.conversations.routes import router as conversations_router
    from handoff_api.widget import router as widget_router

    app.include_router(conversations_router)
    app.include_router(widget_router)
    try:
        from handoff_api.console import router as console_router
    except ImportError:
        pass
    else:
        app.include_router(console_router)
    if include_staff:
        from handoff_api.staff.routes import router as staff_router

        app.include_router(staff_router)
    app.state.fake_bot = fake_bot
    return app


async def occupy(container: Container, staff_id: str) -> None:
    """Put a tier-2 colleague online with every slot taken, so escalations queue instead of going to tier 3."""
    from routing.models import Presence

    staff = await container.routing.find_staff(staff_id)
    assert staff is not None
    await container.routing.set_presence(staff_id, Presence.ONLINE)
    await container.routing.presence.set_load(staff_id, staff.max_concurrency)


def on_app_loop(client: TestClient, function: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run an async function of the app on the test client's event loop."""
    assert client.portal is not None, "use the TestClient as a context manager"
    return client.portal.call(function, *args)


class FakeKnowledgeBase:
    """Agent-assist double: `search` returns the fake FAQ entries whose keyword occurs in the query."""

    def search(self, query: str, k: int = 5) -> list[Any]:
        from knowledge_base.models import Category, FaqEntry, FollowUpQueue, Hit

        hits = []
        for keyword, entry in FAQ.items():
            if keyword in query:
                faq = FaqEntry(
                    id=entry["faq_id"],
                    category=Category(entry["category"]),
                    queue=FollowUpQueue(entry["queue"]),
                    question=entry["question"],
                    similar=(),
                    answer=entry["text"],
                )
                hits.append(Hit(faq, 0.91, entry["question"]))
        return hits[:k]
