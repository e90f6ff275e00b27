"""Steps the learning tests share: a client's question, staff labels, review, waiting for a version."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient

from handoff_api.container import Container
from tests.handoff_api.conftest import bearer, create_key, login, open_conversation, say

WAIT_SECONDS = 120.0


def container(client: TestClient) -> Container:
    found: Container = client.app.state.container  # type: ignore[attr-defined]
    return found


def drain(client: TestClient) -> None:
    """Wait until the worker's evidence is written."""
    learning = container(client).learning
    assert learning is not None and client.portal is not None
    client.portal.call(learning.evidence.drain)


def ask(client: TestClient, text: str, client_id: str = "C10002") -> tuple[str, dict[str, Any]]:
    """A new conversation and the bot's first reply payload to ``text``."""
    auth = bearer(create_key(client, name=f"key-{client_id}-{time.monotonic_ns()}"))
    conversation_id = open_conversation(client, client_id, auth=auth)
    body = say(client, conversation_id, text, auth=auth)
    drain(client)
    return conversation_id, body["replies"][0]["payload"]


def editor(client: TestClient) -> dict[str, str]:
    return login(client, "dm-sh")


def wait_for_version(client: TestClient, version: int) -> None:
    """Poll until this worker serves ``version`` (the watch tick is small in tests; the limit is generous)."""
    kb = container(client).knowledge_base
    assert kb is not None
    deadline = time.monotonic() + WAIT_SECONDS
    while kb.version != version:
        assert time.monotonic() < deadline, f"worker still serves version {kb.version}"
        time.sleep(0.05)


def approve_all(client: TestClient) -> dict[str, Any]:
    headers = editor(client)
    pending = client.get("/api/v1/staff/learning/review", headers=headers)
    assert pending.status_code == 200, pending.text
    decisions = [{"id": item["id"], "action": "approve"} for item in pending.json()]
    response = client.post("/api/v1/staff/learning/review", json={"decisions": decisions}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
