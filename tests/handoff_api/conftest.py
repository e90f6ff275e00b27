"""Fixtures for API tests: the real app on a temporary SQLite file with a scripted bot."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff_api.bot_client import BotPayload, BotUnavailable
from handoff_api.container import Container
from handoff_api.main import create_app
from handoff_api.settings import Settings
from routing.settings import RoutingSettings
from tests.net import TEST_REDIS_URL, drop_redis_keys, temporary_postgres_database

ANSWER: BotPayload = {
    "type": "answer",
    "text": "开通科创板交易权限需满足资产与交易经验要求……",
    "faq_id": "bg-kcb-threshold",
    "question": "科创板交易权限开通需要满足什么条件？",
    "category": "business_guide",
    "queue": "service",
    "score": 0.93,
    "band": "answer",
    "buttons": [
        {"title": "问题已解答", "payload": "/feedback_resolved"},
        {"title": "问题未解答", "payload": "/feedback_unresolved"},
    ],
}


class ScriptedBot:
    """A BotClient double: answers FAQ-like text, escalates advice and unresolved feedback, can go down."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.down = False

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        self.calls.append((conversation_id, text))
        if self.down:
            raise BotUnavailable("Rasa server unreachable: ConnectError")
        if text == "/feedback_unresolved":
            return [
                {
                    "type": "escalate",
                    "text": "正在为您转接人工服务……",
                    "reason": "client_unresolved",
                    "queue_hint": "advisor",
                    "question": "科创板门槛",
                    "faq_id": ANSWER["faq_id"],
                    "score": None,
                }
            ]
        if text == "/feedback_resolved":
            return [{"type": "feedback", "resolved": True, "text": "很高兴能帮到您。", "faq_id": ANSWER["faq_id"]}]
        if "推荐" in text:
            return [
                {
                    "type": "escalate",
                    "text": "根据监管要求……正在为您转接持牌投资顾问。",
                    "reason": "advice_request",
                    "queue_hint": "advisor",
                    "question": text,
                    "faq_id": None,
                    "score": None,
                }
            ]
        if text in {"你好", "您好"}:
            return [{"type": "text", "text": "您好，我是智能投顾机器人。"}]
        return [dict(ANSWER)]

    async def ping(self) -> bool:
        return not self.down


@pytest.fixture
def bot() -> ScriptedBot:
    return ScriptedBot()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}",
        kb_index_dir=tmp_path / "no-index",
        redis_url=None,
        tick_seconds=0.2,
        max_message_chars=200,
    )


REDIS_URL = TEST_REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def client(request: pytest.FixtureRequest, settings: Settings, bot: ScriptedBot) -> Iterator[TestClient]:
    """The app on the embedded backends, and again with Redis behind routing's ports."""
    prefix = f"tre-test-{uuid.uuid4().hex[:8]}:"
    if request.param == "redis":
        settings = settings.model_copy(update={"redis_url": REDIS_URL})
    app = create_app(settings, bot=bot, routing_settings=RoutingSettings(always_open=True, redis_key_prefix=prefix))
    try:
        with TestClient(app) as test_client:
            yield test_client
    finally:
        if request.param == "redis":
            drop_redis_keys(REDIS_URL, prefix)


def login(client: TestClient, staff_id: str, password: str = "demo1234") -> dict[str, str]:
    """Bearer header for a demo staff member."""
    response = client.post("/api/v1/staff/login", json={"staff_id": staff_id, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


ALL_SCOPES = ("conversations:open", "conversations:read", "conversations:write")


def create_key(client: TestClient, name: str = "test-integration", scopes: Sequence[str] = ALL_SCOPES) -> str:
    """A new integration API key in the running app's record (as `python -m handoff_api keys create` makes)."""
    assert client.portal is not None, "use the TestClient as a context manager"
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    assert container.api_keys is not None
    issued = client.portal.call(container.api_keys.create, name, scopes, container.clock.now())
    return issued.presented


def bearer(credential: str) -> dict[str, str]:
    """The Authorization header for an API key or a client token."""
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture
def integration(client: TestClient) -> dict[str, str]:
    """The Authorization header of an integration key with every conversation scope."""
    return bearer(create_key(client))


def open_conversation(client: TestClient, client_id: str = "C10002", *, auth: dict[str, str]) -> str:
    response = client.post("/api/v1/conversations", json={"client_id": client_id}, headers=auth)
    assert response.status_code in {200, 201}, response.text
    return str(response.json()["id"])


def say(client: TestClient, conversation_id: str, text: str, *, auth: dict[str, str]) -> dict[str, Any]:
    response = client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"text": text}, headers=auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def postgres_client(settings: Settings, bot: ScriptedBot) -> Iterator[TestClient]:
    """The app with PostgreSQL as the record (a fresh database, dropped afterwards)."""
    with temporary_postgres_database("tre_api") as url:
        app = create_app(
            settings.model_copy(update={"database_url": url}),
            bot=bot,
            routing_settings=RoutingSettings(always_open=True),
        )
        with TestClient(app) as test_client:
            yield test_client
