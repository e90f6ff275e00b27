"""The client API refuses what it accepted before: no credentials, other clients' conversations, enumeration,
channel spoofing, missing scopes, revoked and forged keys, long-lived tokens, and parallel duplicate opens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from handoff_api.settings import Settings
from handoff_api.token_secrets import client_token_secret
from tests.handoff_api.conftest import bearer, create_key, login, open_conversation, say
from tests.handoff_api.conversations.support import client_token, container_of, parallel_posts

Auth = dict[str, str]
OLD_REPOSITORY_SECRET = "development-only-secret-do-not-use-in-production"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Generous limits here: these tests are about who may do what (limits have their own tests)."""
    return settings.model_copy(update={"rate_limit_client": "1000/minute", "rate_limit_api_key": "5000/minute"})


def routes(conversation_id: str) -> list[tuple[str, str, dict[str, object] | None]]:
    base = f"/api/v1/conversations/{conversation_id}"
    return [
        ("GET", base, None),
        ("GET", f"{base}/facts", None),
        ("GET", f"{base}/messages", None),
        ("POST", f"{base}/messages", {"text": "你好"}),
        ("POST", f"{base}/feedback", {"resolved": False}),
    ]


def call(
    client: TestClient, method: str, path: str, body: dict[str, object] | None, headers: Auth
) -> tuple[int, object]:
    response = client.request(method, path, json=body, headers=headers)
    return response.status_code, response.json()


def test_every_route_needs_credentials_and_nothing_is_stored_without(client: TestClient, integration: Auth) -> None:
    conversation = open_conversation(client, "C10002", auth=integration)
    refused = client.post("/api/v1/conversations", json={"client_id": "C10003"})
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["error"] == "Unauthorized" and "Authorization: Bearer" in refused.json()["detail"]
    for method, path, body in routes(conversation):
        assert call(client, method, path, body, {})[0] == 401, path
        assert call(client, method, path, body, {"Authorization": "Basic YWRtaW46YWRtaW4="})[0] == 401, path
    transcript = client.get(f"/api/v1/conversations/{conversation}/messages", headers=integration).json()
    assert transcript["messages"] == []
    first = client.post("/api/v1/conversations", json={"client_id": "C10003"}, headers=integration)
    assert first.status_code == 201  # the refused open made nothing


def test_another_clients_conversation_answers_exactly_like_an_unknown_one(
    client: TestClient, integration: Auth
) -> None:
    theirs = open_conversation(client, "C10002", auth=integration)
    say(client, theirs, "科创板门槛", auth=integration)
    mine = client_token(client, "C10003")
    for (method, path, body), (_, unknown_path, _) in zip(routes(theirs), routes("f" * 32), strict=True):
        forbidden = call(client, method, path, body, mine)
        unknown = call(client, method, unknown_path, body, mine)
        assert forbidden == unknown == (404, {"error": "NotFound", "detail": "conversation not found"}), path
    transcript = client.get(f"/api/v1/conversations/{theirs}/messages", headers=integration).json()["messages"]
    assert [m["text"] for m in transcript if m["sender"] == "client"] == ["科创板门槛"]  # nothing was posted
    assert client.get(f"/api/v1/conversations/{theirs}", headers=integration).json()["state"] == "bot"  # nor escalated


def test_known_and_unknown_clients_look_alike_to_a_caller_not_allowed_to_open_for_them(client: TestClient) -> None:
    mine = client_token(client, "C10001")
    known = client.post("/api/v1/conversations", json={"client_id": "C10002"}, headers=mine)
    unknown = client.post("/api/v1/conversations", json={"client_id": "NOPE99"}, headers=mine)
    assert (
        (known.status_code, known.json())
        == (unknown.status_code, unknown.json())
        == (
            404,
            {"error": "NotFound", "detail": "client not found"},
        )
    )
    reader = bearer(create_key(client, "reader", ["conversations:read"]))
    known = client.post("/api/v1/conversations", json={"client_id": "C10002"}, headers=reader)
    unknown = client.post("/api/v1/conversations", json={"client_id": "NOPE99"}, headers=reader)
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 403 and "conversations:open" in known.json()["detail"]


def test_a_client_token_opens_reads_and_writes_its_own_conversation(client: TestClient) -> None:
    mine = client_token(client, "C10003")
    first = client.post("/api/v1/conversations", json={}, headers=mine)
    assert first.status_code == 201 and first.json()["client_id"] == "C10003" and first.json()["channel"] == "api"
    again = client.post("/api/v1/conversations", json={"client_id": "C10003"}, headers=mine)
    assert again.status_code == 200 and again.json() == first.json()
    conversation = first.json()["id"]
    assert say(client, conversation, "688的票怎么开权限", auth=mine)["replies"][0]["payload"]["type"] == "answer"
    messages = client.get(f"/api/v1/conversations/{conversation}/messages", headers=mine).json()["messages"]
    assert [m["sender"] for m in messages] == ["client", "bot"]


@pytest.mark.parametrize("channel", ["wecom", "widget", "sms"])
def test_a_rest_conversation_cannot_claim_another_channel(client: TestClient, integration: Auth, channel: str) -> None:
    response = client.post(
        "/api/v1/conversations", json={"client_id": "C10002", "channel": channel}, headers=integration
    )
    assert response.status_code == 422
    assert "only WeCom opens WeCom conversations" in response.json()["detail"]
    created = client.post("/api/v1/conversations", json={"client_id": "C10002", "channel": "api"}, headers=integration)
    assert created.status_code == 201 and created.json()["channel"] == "api"


def test_scopes_are_enforced_per_route(client: TestClient, integration: Auth) -> None:
    conversation = open_conversation(client, "C10002", auth=integration)
    reader = bearer(create_key(client, "reader", ["conversations:read"]))
    writer = bearer(create_key(client, "writer", ["conversations:write"]))
    base = f"/api/v1/conversations/{conversation}"
    assert client.get(base, headers=reader).status_code == 200
    denied = client.post(f"{base}/messages", json={"text": "你好"}, headers=reader)
    assert denied.status_code == 403 and denied.json()["detail"] == "this API key lacks the scope conversations:write"
    assert client.post(f"{base}/feedback", json={"resolved": True}, headers=reader).status_code == 403
    assert client.get(f"{base}/messages", headers=writer).status_code == 403
    assert client.post("/api/v1/conversations", json={"client_id": "C10002"}, headers=writer).status_code == 403
    assert client.post(f"{base}/messages", json={"text": "你好"}, headers=writer).status_code == 200
    missing = client.post("/api/v1/conversations", json={}, headers=integration)
    assert missing.status_code == 422 and "client_id" in missing.json()["detail"]


def test_revoked_forged_and_malformed_keys_are_refused(client: TestClient) -> None:
    key = create_key(client, "short-lived")
    assert client.get("/api/v1/conversations/x", headers=bearer(key)).status_code == 404  # accepted: no such one
    container = container_of(client)
    assert container.api_keys is not None
    assert client.portal is not None
    client.portal.call(container.api_keys.revoke, "short-lived", container.clock.now())
    prefix, key_id, secret = key.split("_", 2)
    forged = f"{prefix}_{key_id}_{'A' * len(secret)}"
    for presented in (key, forged, "tre_nothing", "tre_" + "0" * 16 + "_" + "A" * 43):
        refused = client.get("/api/v1/conversations/x", headers=bearer(presented))
        assert (refused.status_code, refused.json()["detail"]) == (401, "invalid API key"), presented


def test_client_tokens_longer_lived_than_allowed_are_refused(client: TestClient, settings: Settings) -> None:
    secret = client_token_secret(settings)
    now = int(datetime.now(UTC).timestamp())
    long_lived = jwt.encode({"client_id": "C10002", "aud": "client", "iat": now, "exp": now + 25 * 3600}, secret)
    refused = client.post("/api/v1/conversations", json={}, headers=bearer(long_lived))
    assert refused.status_code == 401 and "CLIENT_TOKEN_MAX_MINUTES" in refused.json()["detail"]
    no_issue_time = jwt.encode({"client_id": "C10002", "aud": "client", "exp": now + 600}, secret)
    assert client.post("/api/v1/conversations", json={}, headers=bearer(no_issue_time)).status_code == 401
    within = client_token(client, "C10002", lifetime=timedelta(hours=24))
    assert client.post("/api/v1/conversations", json={}, headers=within).status_code == 201


def test_tokens_forged_with_the_old_repository_secret_are_refused(client: TestClient) -> None:
    now = int(datetime.now(UTC).timestamp())
    admin = {"sub": "admin", "role": "admin", "aud": "staff", "iat": now, "exp": now + 600}
    forged_staff = jwt.encode(admin, OLD_REPOSITORY_SECRET)
    assert client.get("/api/v1/staff/stats/today", headers=bearer(forged_staff)).status_code == 401
    forged_client = jwt.encode(
        {"client_id": "C10002", "aud": "client", "iat": now, "exp": now + 600}, OLD_REPOSITORY_SECRET
    )
    assert client.post("/api/v1/conversations", json={}, headers=bearer(forged_client)).status_code == 401
    assert client.get("/api/v1/staff/stats/today", headers=login(client, "dm-sh")).status_code == 200


def test_200_parallel_opens_for_one_client_give_one_conversation(client: TestClient, integration: Auth) -> None:
    answers = parallel_posts(client, "/api/v1/conversations", {"client_id": "C10004"}, integration, 200)
    assert [answer.status_code for answer in answers].count(201) == 1
    assert {answer.status_code for answer in answers} == {200, 201}
    assert len({answer.json()["id"] for answer in answers}) == 1


def test_200_parallel_opens_give_one_conversation_on_postgresql(postgres_client: TestClient) -> None:
    integration = bearer(create_key(postgres_client))
    answers = parallel_posts(postgres_client, "/api/v1/conversations", {"client_id": "C10004"}, integration, 200)
    assert [answer.status_code for answer in answers].count(201) == 1
    assert len({answer.json()["id"] for answer in answers}) == 1
