"""The two-worker harness: a fake Rasa REST server, a fresh PostgreSQL with the demo directory and an
integration key, a Redis key prefix, and `uvicorn --workers 2` running the real app as a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from handoff_api.api_keys import ApiKeyRegistry, SqlApiKeyStore
from handoff_api.launcher import api_server_argv
from routing.directory_import import seed_demo
from routing.sql_record import SqlRecord, create_engine_for, migrate
from tests.net import TEST_REDIS_URL, drop_redis_keys, free_port, temporary_postgres_database

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = TEST_REDIS_URL
PASSWORD = "demo1234"
ASK_FOR_A_PERSON = "转人工"


# ---------------------------------------------------------------- a fake Rasa REST server


def rasa_replies(sender: str, text: str) -> list[dict[str, Any]]:
    """Rasa REST replies with the knowledge base's contract payloads in `custom`."""
    if ASK_FOR_A_PERSON in text:
        payload: dict[str, Any] = {
            "type": "escalate",
            "text": "好的，正在为您转接人工服务。",
            "reason": "asked_human",
            "queue_hint": "service",
            "question": "账户问题需要人工协助",
            "faq_id": None,
            "score": None,
        }
    else:
        payload = {
            "type": "answer",
            "text": "开通科创板交易权限需满足资产与交易经验要求。",
            "faq_id": "bg-kcb-threshold",
            "question": "科创板交易权限开通需要满足什么条件？",
            "category": "business_guide",
            "queue": "service",
            "score": 0.93,
            "band": "answer",
            "buttons": [],
        }
    return [{"recipient_id": sender, "custom": payload}]


class FakeRasaHandler(BaseHTTPRequestHandler):
    """POST /webhooks/rest/webhook and GET /status, like Rasa's REST channel."""

    def do_POST(self) -> None:
        if self.path != "/webhooks/rest/webhook":
            self._answer(404, {"error": "not found"})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        self._answer(200, rasa_replies(str(body.get("sender", "")), str(body.get("message", ""))))

    def do_GET(self) -> None:
        if self.path == "/status":
            self._answer(200, {"model_file": "x"})
        else:
            self._answer(404, {"error": "not found"})

    def _answer(self, status: int, body: object) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def fake_rasa() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasaHandler)
    thread = threading.Thread(target=server.serve_forever, name="fake-rasa", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- PostgreSQL, Redis and the API processes


async def _seed(url: str) -> str:
    """The demo directory and an integration key with every scope (returned)."""
    engine = create_engine_for(url)
    try:
        await seed_demo(SqlRecord(engine), PASSWORD)
        scopes = ["conversations:open", "conversations:read", "conversations:write"]
        issued = await ApiKeyRegistry(SqlApiKeyStore(engine)).create("workers-test", scopes, datetime.now(UTC))
        return issued.presented
    finally:
        await engine.dispose()


@contextmanager
def fresh_postgres() -> Iterator[tuple[str, str]]:
    """A new database, migrated and seeded before the workers start (so they do not race to do it), and a key."""
    with temporary_postgres_database("tre_workers") as url:
        migrate(url)
        key = asyncio.run(_seed(url))
        yield url, key


@contextmanager
def redis_prefix() -> Iterator[str]:
    prefix = f"tre-workers-{uuid.uuid4().hex[:8]}:"
    try:
        yield prefix
    finally:
        drop_redis_keys(REDIS_URL, prefix)


@contextmanager
def api_workers(env: dict[str, str], log_path: Path, workers: int = 2, port: int | None = None) -> Iterator[str]:
    """`uvicorn --workers` as a subprocess (on `port`, or a free one); yields its base URL once every worker
    has started."""
    port = port or free_port()
    command = api_server_argv("127.0.0.1", port, workers)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while log_path.read_text(errors="replace").count("Application startup complete") < workers:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the API workers did not start:\n{log_path.read_text(errors='replace')}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
