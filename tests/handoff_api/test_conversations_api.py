"""The REST path for integrations: conversations, messages, transcript, and clear errors (with an API key)."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from handoff_api.main import create_app
from handoff_api.settings import Settings
from routing.settings import RoutingSettings
from tests.handoff_api.conftest import ScriptedBot, bearer, create_key, login, open_conversation, say

Auth = dict[str, str]


def test_a_question_is_answered_by_the_bot_and_stored(client: TestClient, integration: Auth) -> None:
    conversation = open_conversation(client, auth=integration)
    body = say(client, conversation, "688的票怎么开权限", auth=integration)
    assert body["message"]["sender"] == "client"
    [reply] = body["replies"]
    assert reply["sender"] == "bot" and reply["payload"]["type"] == "answer"
    assert reply["served_by"]["tier"] == 1 and reply["served_by"]["staff_id"] is None
    assert body["conversation"]["state"] == "bot" and body["conversation"]["channel"] == "api"
    transcript = client.get(f"/api/v1/conversations/{conversation}/messages", headers=integration).json()
    assert [m["sender"] for m in transcript["messages"]] == ["client", "bot"]
    assert [m["seq"] for m in transcript["messages"]] == [1, 2]
    after = client.get(f"/api/v1/conversations/{conversation}/messages", params={"after": 1}, headers=integration)
    assert [m["seq"] for m in after.json()["messages"]] == [2]


def test_a_message_resent_with_its_id_is_stored_once_and_answered_once(
    client: TestClient, bot: ScriptedBot, integration: Auth
) -> None:
    conversation = open_conversation(client, auth=integration)
    path = f"/api/v1/conversations/{conversation}/messages"
    sent = {"text": "688的票怎么开权限", "client_msg_id": "app-42"}
    first = client.post(path, json=sent, headers=integration)
    again = client.post(path, json=sent, headers=integration)
    assert first.status_code == again.status_code == 200
    assert again.json()["message"]["id"] == first.json()["message"]["id"]
    assert [r["id"] for r in again.json()["replies"]] == [r["id"] for r in first.json()["replies"]]
    assert len(bot.calls) == 1
    transcript = client.get(path, headers=integration).json()["messages"]
    assert [m["sender"] for m in transcript] == ["client", "bot"]
    too_long = client.post(path, json={"text": "你好", "client_msg_id": "x" * 65}, headers=integration)
    assert too_long.status_code == 422


def test_unknown_client_and_conversation_are_404(client: TestClient, integration: Auth) -> None:
    response = client.post("/api/v1/conversations", json={"client_id": "NOPE"}, headers=integration)
    assert response.status_code == 404 and response.json() == {"error": "NotFound", "detail": "client not found"}
    response = client.post("/api/v1/conversations/does-not-exist/messages", json={"text": "你好"}, headers=integration)
    assert response.status_code == 404
    assert client.get("/api/v1/conversations/does-not-exist/messages", headers=integration).status_code == 404


def test_bad_input_gets_a_clear_4xx_and_stores_nothing(client: TestClient, bot: ScriptedBot, integration: Auth) -> None:
    conversation = open_conversation(client, auth=integration)
    path = f"/api/v1/conversations/{conversation}/messages"
    empty = client.post(path, json={"text": "   "}, headers=integration)
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    long = client.post(path, json={"text": "长" * 201}, headers=integration)
    assert long.status_code == 422 and "200" in long.json()["detail"]
    malformed = client.post(
        path, content=b'{"text": "oops"', headers={"content-type": "application/json", **integration}
    )
    assert malformed.status_code == 400 and "malformed" in malformed.json()["detail"]
    missing = client.post(path, json={"txt": "hi"}, headers=integration)
    assert missing.status_code == 422 and "text" in missing.json()["detail"]
    assert client.get(path, headers=integration).json()["messages"] == []
    assert bot.calls == []


def test_with_rasa_unreachable_the_api_answers_itself_and_stays_ready(
    client: TestClient, bot: ScriptedBot, integration: Auth
) -> None:
    conversation = open_conversation(client, auth=integration)
    bot.down = True
    path = f"/api/v1/conversations/{conversation}/messages"
    response = client.post(path, json={"text": "两融怎么开"}, headers=integration)
    assert response.status_code == 200, response.text
    payloads = [reply["payload"] for reply in response.json()["replies"]]
    assert payloads[0]["degraded"] is True  # the client is told once
    # this test app has no FAQ index either, so the question goes to a person instead of failing
    assert payloads[1]["type"] == "escalate" and payloads[1]["reason"] == "kb_unavailable"
    assert response.json()["conversation"]["state"] != "bot"
    transcript = client.get(path, headers=integration).json()["messages"]
    assert transcript[0]["sender"] == "client" and transcript[0]["text"] == "两融怎么开"
    for health_path in ("/health", "/health/ready"):
        health = client.get(health_path)
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert health.json()["checks"]["rasa"]["ok"] is False and health.json()["checks"]["database"]["ok"]


def test_an_escalation_moves_the_conversation_out_of_the_bot_and_the_bot_is_not_asked_again(
    client: TestClient, bot: ScriptedBot, integration: Auth
) -> None:
    conversation = open_conversation(client, auth=integration)
    body = say(client, conversation, "给我推荐一只股票", auth=integration)
    assert body["replies"][0]["payload"]["reason"] == "advice_request"
    state = body["conversation"]
    assert state["state"] in {"queued", "awaiting_responder"}
    # nobody is online in this test, so routing sends it straight to the assigned responder and says why
    assert (state["state"], state["escalation_reason"]) == ("awaiting_responder", "no_staff_online")
    calls = len(bot.calls)
    follow_up = say(client, conversation, "人呢？", auth=integration)
    assert follow_up["replies"] == []
    assert len(bot.calls) == calls


def test_button_payloads_are_stored_as_the_words_clicked(client: TestClient, integration: Auth) -> None:
    conversation = open_conversation(client, auth=integration)
    say(client, conversation, "科创板门槛", auth=integration)
    body = client.post(
        f"/api/v1/conversations/{conversation}/feedback", json={"resolved": False}, headers=integration
    ).json()
    assert body["message"]["text"] == "问题未解答"
    assert body["conversation"]["state"] in {"queued", "awaiting_responder"}
    assert body["conversation"]["escalation_reason"] in {"client_unresolved", "no_staff_online"}


def test_conversations_and_messages_are_stored_in_postgresql(postgres_client: TestClient) -> None:
    integration = bearer(create_key(postgres_client))
    conversation = open_conversation(postgres_client, auth=integration)
    say(postgres_client, conversation, "两融利率多少", auth=integration)
    database = postgres_client.get("/health").json()["checks"]["database"]
    assert database == {"ok": True, "backend": "postgresql", "required": True}
    path = f"/api/v1/conversations/{conversation}/messages"
    transcript = postgres_client.get(path, headers=integration).json()["messages"]
    assert [(m["seq"], m["sender"]) for m in transcript] == [(1, "client"), (2, "bot")]


def test_with_rasa_down_faq_questions_are_answered_and_ask_human_reaches_a_person(
    settings: Settings, bot: ScriptedBot
) -> None:
    index = Path(__file__).resolve().parents[2] / "var" / "index"
    app = create_app(
        settings.model_copy(update={"kb_index_dir": index}),
        bot=bot,
        routing_settings=RoutingSettings(always_open=True),
    )
    bot.down = True
    with TestClient(app) as client:
        integration = bearer(create_key(client))
        for staff_id in ("adv01", "svc01"):
            headers = login(client, staff_id)
            assert (
                client.post("/api/v1/staff/presence", json={"presence": "online"}, headers=headers).status_code == 204
            )
        conversation = open_conversation(client, auth=integration)
        answered = say(client, conversation, "科创板权限怎么开通", auth=integration)
        kinds = [reply["payload"]["type"] for reply in answered["replies"]]
        assert kinds[0] == "text" and kinds[1] in {"answer", "suggestions"}, answered["replies"]
        handed = client.post(
            f"/api/v1/conversations/{conversation}/feedback", json={"resolved": False}, headers=integration
        ).json()
        assert handed["conversation"]["state"] in {"queued", "with_agent"}, handed
        other = open_conversation(client, "C10003", auth=integration)
        asked = say(client, other, "转人工", auth=integration)
        assert asked["conversation"]["state"] in {"queued", "with_agent"}, asked


def test_text_with_a_lone_surrogate_is_422_and_stores_nothing(client: TestClient, integration: Auth) -> None:
    conversation = open_conversation(client, auth=integration)
    path = f"/api/v1/conversations/{conversation}/messages"
    headers = {"content-type": "application/json", **integration}
    response = client.post(path, content=b'{"text": "\\ud800"}', headers=headers)
    assert response.status_code == 422
    assert response.json()["error"] == "ValidationError" and "lone surrogate" in response.json()["detail"]
    opening = client.post("/api/v1/conversations", content=b'{"client_id": "C1\\udfff"}', headers=headers)
    assert opening.status_code == 422 and "client_id" in opening.json()["detail"]
    assert client.get(path, headers=integration).json()["messages"] == []


def test_the_transcript_cursor_is_bounded(client: TestClient, integration: Auth) -> None:
    conversation = open_conversation(client, auth=integration)
    path = f"/api/v1/conversations/{conversation}/messages"
    for after in ("9223372036854775808", "2147483648", "-1"):
        response = client.get(path, params={"after": after}, headers=integration)
        assert response.status_code == 422, (after, response.text)
        assert response.json()["error"] == "ValidationError" and "after" in response.json()["detail"]
    assert client.get(path, params={"after": 2**31 - 1}, headers=integration).status_code == 200


def test_unknown_body_fields_are_refused(client: TestClient, integration: Auth) -> None:
    response = client.post("/api/v1/conversations", json={"client_id": "C10002", "chanel": "api"}, headers=integration)
    assert response.status_code == 422 and "chanel" in response.json()["detail"]


def test_a_body_over_the_limit_is_413_before_it_is_parsed(client: TestClient, integration: Auth) -> None:
    huge = '{"client_id": "C10002", "junk": "' + "x" * 5_000_000 + '"}'
    headers = {"content-type": "application/json", **integration}
    response = client.post("/api/v1/conversations", content=huge, headers=headers)
    assert response.status_code == 413
    assert response.json() == {
        "error": "PayloadTooLarge",
        "detail": "the request body is larger than 65536 bytes (MAX_BODY_BYTES)",
    }
