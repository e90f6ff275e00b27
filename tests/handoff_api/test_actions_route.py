"""The in-process action endpoint: only Rasa (with the shared token) may call it, safely."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from handoff_api.actions_route import make_actions_router, safe_name
from handoff_api.errors import install_error_handlers
from handoff_api.main import make_action_executor

TOKEN = "a-shared-action-token-for-the-tests"


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(make_actions_router(make_action_executor(), TOKEN, max_body_bytes=4096))
    with TestClient(app) as test_client:
        yield test_client


def call(action: object = "action_small_talk", text: str = "你好") -> dict[str, Any]:
    return {
        "next_action": action,
        "sender_id": "c1",
        "tracker": {
            "sender_id": "c1",
            "slots": {},
            "latest_message": {"text": text, "intent": {"name": "greet", "confidence": 0.99}},
            "events": [],
            "paused": False,
            "latest_action_name": "action_listen",
        },
        "domain": {"responses": {"utter_greet": [{"text": "您好"}]}},
        "version": "3.6.21",
    }


def test_a_call_with_the_token_runs_the_action(client: TestClient) -> None:
    response = client.post("/webhook", params={"token": TOKEN}, json=call())
    assert response.status_code == 200, response.text
    assert response.json()["responses"][0]["response"] == "utter_greet"


@pytest.mark.parametrize("params", [{}, {"token": ""}, {"token": "wrong"}, {"token": TOKEN + "x"}])
def test_without_the_token_nothing_runs(client: TestClient, params: dict[str, str]) -> None:
    assert client.post("/webhook", params=params, json=call()).status_code == 401
    assert client.get("/actions", params=params).status_code == 401


def test_an_unset_token_refuses_every_call() -> None:
    app = FastAPI()
    app.include_router(make_actions_router(make_action_executor(), None, max_body_bytes=4096))
    with TestClient(app) as client:
        assert client.post("/webhook", params={"token": ""}, json=call()).status_code == 401


def test_oversized_calls_are_refused(client: TestClient) -> None:
    response = client.post("/webhook", params={"token": TOKEN}, json=call(text="长" * 5000))
    assert response.status_code == 413


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"next_action": "\\ud800", "tracker": {"sender_id": "c1"}}',
        b'{"next_action": "\\uDFFF", "tracker": {"sender_id": "c1"}}',
        b'{"next_action": "\xed\xa0\x80", "tracker": {"sender_id": "c1"}}',
        b'{"next_action": "\xff", "tracker": {"sender_id": "c1"}}',
        '{"next_action": "x", "tracker": {"sender_id": "c1"}}'.encode("utf-16"),
        b'{"next_action": "\\ud800"}',
        b'{"next_action": "x"}',
    ],
)
def test_malformed_calls_get_a_400(client: TestClient, body: bytes) -> None:
    response = client.post("/webhook", params={"token": TOKEN}, content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "BadRequest" and response.json()["detail"].startswith("the action call")


def test_escaped_chinese_and_emoji_pass_the_unicode_check(client: TestClient) -> None:
    body = json.dumps(call(text="您好😀")).encode("ascii")  # as Rasa sends it: every non-ASCII character escaped
    assert b"\\ud83d\\ude00" in body
    response = client.post("/webhook", params={"token": TOKEN}, content=body)
    assert response.status_code == 200, response.text


def test_unknown_actions_are_logged_without_the_raw_name(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        response = client.post("/webhook", params={"token": TOKEN}, json=call("fake\nINFO forged log line"))
    assert response.status_code == 404
    assert response.json() == {"error": "NotFound", "detail": "no such action", "action_name": "<invalid action name>"}
    assert "forged log line" not in caplog.text and "<invalid action name>" in caplog.text


def test_safe_names() -> None:
    assert safe_name("action_answer_faq") == "action_answer_faq"
    assert safe_name("Action") == safe_name(7) == safe_name("a" * 80) == "<invalid action name>"


def test_the_app_wires_the_token_from_settings(tmp_path) -> None:
    from handoff_api.main import create_app
    from handoff_api.settings import Settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'engine.db'}",
        kb_index_dir=tmp_path / "no-index",
        action_endpoint_token=SecretStr(TOKEN),
    )
    with TestClient(create_app(settings)) as client:
        assert client.post("/webhook", json=call()).status_code == 401
        assert client.post("/webhook", params={"token": TOKEN}, json=call()).status_code == 200
