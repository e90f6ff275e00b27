"""The client API's rate limits: per API key, per client, and failed authentications per address (429 + Retry-After).

The `client` fixture runs each test with the in-memory limiter and again with the limiter on Redis.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from handoff_api.settings import Settings
from tests.handoff_api.conftest import bearer, create_key, open_conversation
from tests.handoff_api.conversations.support import client_token

Auth = dict[str, str]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "rate_limit_api_key": "6/minute",
            "rate_limit_client": "4/minute",
            "rate_limit_auth_failures": "3/minute",
        }
    )


def assert_limited(response_status: int, headers: dict[str, str], body: dict[str, str]) -> None:
    assert response_status == 429
    assert 1 <= int(headers["retry-after"]) <= 60
    assert body["error"] == "RateLimited" and f"retry after {headers['retry-after']} seconds" in body["detail"]


def test_an_api_key_is_limited_and_told_when_to_retry(client: TestClient) -> None:
    key = bearer(create_key(client, "busy"))
    other = bearer(create_key(client, "calm"))
    statuses = [client.get("/api/v1/conversations/none", headers=key).status_code for _ in range(6)]
    assert statuses == [404] * 6
    limited = client.get("/api/v1/conversations/none", headers=key)
    assert_limited(limited.status_code, dict(limited.headers), limited.json())
    assert client.get("/api/v1/conversations/none", headers=other).status_code == 404  # another key is not held up


def test_a_client_is_limited_whoever_writes_for_it(client: TestClient) -> None:
    own = client_token(client, "C10002")
    conversation = open_conversation(client, "C10002", auth=own)  # 1
    for _ in range(3):  # 2, 3, 4
        assert client.get(f"/api/v1/conversations/{conversation}", headers=own).status_code == 200
    limited = client.get(f"/api/v1/conversations/{conversation}", headers=own)
    assert_limited(limited.status_code, dict(limited.headers), limited.json())
    # an integration writing for the same client counts against that client too; reads only against its key
    integration = bearer(create_key(client, "crm"))
    assert client.get(f"/api/v1/conversations/{conversation}", headers=integration).status_code == 200
    written = client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": "你好"}, headers=integration)
    assert_limited(written.status_code, dict(written.headers), written.json())
    other = client.post("/api/v1/conversations", json={"client_id": "C10003"}, headers=integration)
    assert other.status_code == 201  # another client is not held up


def test_an_address_that_keeps_failing_is_blocked_even_with_a_good_key(client: TestClient) -> None:
    good = bearer(create_key(client, "good"))
    for presented in ("forged", "tre_" + "0" * 16 + "_" + "A" * 43, "eyJhbGciOiJIUzI1NiJ9.e30.x"):
        assert client.get("/api/v1/conversations/none", headers=bearer(presented)).status_code == 401
    blocked = client.get("/api/v1/conversations/none", headers=good)
    assert_limited(blocked.status_code, dict(blocked.headers), blocked.json())
    missing = client.post("/api/v1/conversations", json={"client_id": "C10002"})
    assert missing.status_code == 429
