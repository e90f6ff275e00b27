"""End to end over HTTP: the real Rasa server, the real API (with the action endpoint in-process)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from handoff_api.api_keys.cli import with_registry
from handoff_api.launcher import RasaWiring, api_server_argv, rasa_server_argv, wire_rasa
from handoff_api.settings import Settings
from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
RASA_PYTHON = RASA.parent / "python"
MODEL = ROOT / "models" / "tier1.tar.gz"
INDEX = ROOT / "var" / "index"

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def _wait(url: str, seconds: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: the server exited early with {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds}s")


@dataclass(frozen=True)
class Stack:
    """Where this module's servers listen and what they share."""

    api_port: int
    database_url: str
    wiring: RasaWiring
    key: str
    """An integration key with every conversation scope, made in the database before the API starts."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Stack:
    """Ports, database and Rasa's endpoints file and tokens for this module's servers."""
    folder = tmp_path_factory.mktemp("e2e")
    api_port, database_url = free_port(), f"sqlite+aiosqlite:///{folder / 'engine.db'}"
    settings = Settings(api_host="127.0.0.1", api_port=api_port, database_url=database_url, redis_url=None)
    scopes = ["conversations:open", "conversations:read", "conversations:write"]
    issued = asyncio.run(with_registry(database_url, lambda keys: keys.create("e2e", scopes, datetime.now(UTC))))
    return Stack(api_port, database_url, wire_rasa(settings, [free_port()], folder / "rasa"), issued.presented)


@pytest.fixture(scope="module")
def rasa_wiring(stack: Stack) -> RasaWiring:
    return stack.wiring


def auth(stack: Stack) -> dict[str, str]:
    """The integration key's Authorization header."""
    return {"Authorization": f"Bearer {stack.key}"}


@pytest.fixture(scope="module")
def servers(stack: Stack) -> Iterator[str]:
    """Start Rasa and the API on free loopback ports; yield the API base URL."""
    assert RASA.exists() and MODEL.exists(), "run 'make setup' first: Rasa or its trained model is missing"
    assert (INDEX / "meta.json").exists() or any(INDEX.glob("*")), "run 'make setup' first: no FAQ index"
    wiring = stack.wiring
    [rasa_port] = wiring.ports
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        DATABASE_URL=stack.database_url,
        APP_MODE="development",
        API_PORT=str(stack.api_port),
        **wiring.api_environment(),
    )
    env.pop("REDIS_URL", None)
    api = subprocess.Popen(api_server_argv("127.0.0.1", stack.api_port), cwd=ROOT, env=env)
    rasa_argv = rasa_server_argv(RASA_PYTHON, MODEL, rasa_port, wiring.endpoints_file, wiring.auth_token)
    rasa = subprocess.Popen(rasa_argv, cwd=ROOT, env=env)
    try:
        _wait(f"http://127.0.0.1:{stack.api_port}/health/live", 60, api)
        _wait(f"http://127.0.0.1:{rasa_port}/status?token={wiring.auth_token}", 120, rasa)
        yield f"http://127.0.0.1:{stack.api_port}"
    finally:
        for process in (rasa, api):
            process.terminate()
        for process in (rasa, api):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _open(base: str, stack: Stack, client_id: str) -> str:
    """A new conversation for a demo client (one open conversation per client: each test takes its own)."""
    response = httpx.post(
        f"{base}/api/v1/conversations", json={"client_id": client_id}, headers=auth(stack), timeout=10
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _say(base: str, stack: Stack, conversation_id: str, text: str) -> dict[str, Any]:
    path = f"{base}/api/v1/conversations/{conversation_id}/messages"
    response = httpx.post(path, json={"text": text}, headers=auth(stack), timeout=60)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_health_reports_every_dependency(servers: str) -> None:
    response = httpx.get(f"{servers}/health/ready", timeout=10)
    body = response.json()
    assert response.status_code == 200 and set(body["checks"]) >= {"rasa", "index", "database", "calendar"}
    assert all(body["checks"][name]["ok"] for name in ("rasa", "index", "database")), body


def test_a_faq_question_is_answered_from_the_index(servers: str, stack: Stack) -> None:
    conversation = _open(servers, stack, "C10001")
    body = _say(servers, stack, conversation, "科创板权限开通要什么条件")
    payloads = [reply["payload"] for reply in body["replies"]]
    answers = [p for p in payloads if p.get("type") == "answer"]
    assert answers, payloads
    assert answers[0]["faq_id"] and answers[0]["score"] > 0.5
    assert {b["payload"] for b in answers[0]["buttons"]} == {"/feedback_resolved", "/feedback_unresolved"}
    assert body["conversation"]["state"] == "bot"


def test_advice_requests_are_never_answered_and_leave_the_bot(servers: str, stack: Stack) -> None:
    conversation = _open(servers, stack, "C10002")
    body = _say(servers, stack, conversation, "帮我推荐一只明天能涨停的股票")
    payloads = [reply["payload"] for reply in body["replies"]]
    assert not [p for p in payloads if p.get("type") == "answer"], payloads
    escalations = [p for p in payloads if p.get("type") == "escalate"]
    assert escalations and escalations[0]["reason"] == "advice_request"
    assert escalations[0]["queue_hint"] == "advisor"
    assert body["conversation"]["state"] != "bot"


def test_greeting_and_transcript(servers: str, stack: Stack) -> None:
    conversation = _open(servers, stack, "C10003")
    _say(servers, stack, conversation, "你好")
    transcript = httpx.get(
        f"{servers}/api/v1/conversations/{conversation}/messages", headers=auth(stack), timeout=10
    ).json()
    senders = [m["sender"] for m in transcript["messages"]]
    assert senders[0] == "client" and "bot" in senders


def test_personal_data_is_never_answered_with_a_pleasantry(servers: str, stack: Stack) -> None:
    conversation = _open(servers, stack, "C10004")
    body = _say(servers, stack, conversation, "我的手机号13812345678，身份证110101199003071234")
    texts = [reply["text"] for reply in body["replies"]]
    assert any("请不要在对话中发送身份证号、手机号、银行卡号" in text for text in texts), texts
    assert not any("再见" in text or "不客气" in text for text in texts), texts


def test_a_greeting_that_carries_a_question_gets_an_answer(servers: str, stack: Stack) -> None:
    conversation = _open(servers, stack, "C10005")
    body = _say(servers, stack, conversation, "你好，科创板权限怎么开通")
    kinds = [reply["payload"].get("type") for reply in body["replies"]]
    assert kinds and kinds[0] in {"answer", "suggestions"}, body["replies"]


def test_rasa_http_api_needs_its_token(servers: str, stack: Stack, rasa_wiring) -> None:
    conversation = _open(servers, stack, "C10006")
    _say(servers, stack, conversation, "你好")
    rasa = rasa_wiring.urls
    refused = httpx.get(f"{rasa}/conversations/{conversation}/tracker", timeout=10)
    assert refused.status_code == 401
    allowed = httpx.get(f"{rasa}/conversations/{conversation}/tracker", params={"token": rasa_wiring.auth_token})
    assert allowed.status_code == 200 and allowed.json()["sender_id"] == conversation
