"""The REST path for integrations: conversations, messages, transcript, and clear errors."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.handoff_api.conftest import ScriptedBot, open_conversation, say


def test_a_question_is_answered_by_the_bot_and_stored(client: TestClient) -> None:
    conversation = open_conversation(client)
    body = say(client, conversation, "688的票怎么开权限")
    assert body["message"]["sender"] == "client"
    [reply] = body["replies"]
    assert reply["sender"] == "bot" and reply["payload"]["type"] == "answer"
    assert reply["served_by"]["tier"] == 1 and reply["served_by"]["staff_id"] is None
    assert body["conversation"]["state"] == "bot"
    transcript = client.get(f"/api/v1/conversations/{conversation}/messages").json()["messages"]
    assert [m["sender"] for m in transcript] == ["client", "bot"]
    assert [m["seq"] for m in transcript] == [1, 2]
    after = client.get(f"/api/v1/conversations/{conversation}/messages", params={"after": 1}).json()
    assert [m["seq"] for m in after["messages"]] == [2]


def test_unknown_client_and_conversation_are_404(client: TestClient) -> None:
    response = client.post("/api/v1/conversations", json={"client_id": "NOPE"})
    assert response.status_code == 404 and "NOPE" in response.json()["detail"]
    response = client.post("/api/v1/conversations/does-not-exist/messages", json={"text": "你好"})
    assert response.status_code == 404
    assert client.get("/api/v1/conversations/does-not-exist/messages").status_code == 404


def test_bad_input_gets_a_clear_4xx_and_stores_nothing(client: TestClient, bot: ScriptedBot) -> None:
    conversation = open_conversation(client)
    empty = client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": "   "})
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]
    long = client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": "长" * 201})
    assert long.status_code == 422 and "200" in long.json()["detail"]
    malformed = client.post(
        f"/api/v1/conversations/{conversation}/messages",
        content=b'{"text": "oops"',
        headers={"content-type": "application/json"},
    )
    assert malformed.status_code == 400 and "malformed" in malformed.json()["detail"]
    missing = client.post(f"/api/v1/conversations/{conversation}/messages", json={"txt": "hi"})
    assert missing.status_code == 422 and "text" in missing.json()["detail"]
    assert client.get(f"/api/v1/conversations/{conversation}/messages").json()["messages"] == []
    assert bot.calls == []


def test_unreachable_bot_is_503_and_the_message_is_kept(client: TestClient, bot: ScriptedBot) -> None:
    conversation = open_conversation(client)
    bot.down = True
    response = client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": "两融怎么开"})
    assert response.status_code == 503
    assert "stored" in response.json()["detail"]
    transcript = client.get(f"/api/v1/conversations/{conversation}/messages").json()["messages"]
    assert [(m["sender"], m["text"]) for m in transcript] == [("client", "两融怎么开")]
    health = client.get("/health")
    assert health.status_code == 503 and health.json()["checks"]["rasa"]["ok"] is False


def test_an_escalation_moves_the_conversation_out_of_the_bot_and_the_bot_is_not_asked_again(
    client: TestClient, bot: ScriptedBot
) -> None:
    conversation = open_conversation(client)
    body = say(client, conversation, "给我推荐一只股票")
    assert body["replies"][0]["payload"]["reason"] == "advice_request"
    state = body["conversation"]
    assert state["state"] in {"queued", "awaiting_responder"}
    # nobody is online in this test, so routing sends it straight to the assigned responder and says why
    assert (state["state"], state["escalation_reason"]) == ("awaiting_responder", "no_staff_online")
    calls = len(bot.calls)
    follow_up = say(client, conversation, "人呢？")
    assert follow_up["replies"] == []
    assert len(bot.calls) == calls


def test_button_payloads_are_stored_as_the_words_clicked(client: TestClient) -> None:
    conversation = open_conversation(client)
    say(client, conversation, "科创板门槛")
    body = client.post(f"/api/v1/conversations/{conversation}/feedback", json={"resolved": False}).json()
    assert body["message"]["text"] == "问题未解答"
    assert body["conversation"]["state"] in {"queued", "awaiting_responder"}
    assert body["conversation"]["escalation_reason"] in {"client_unresolved", "no_staff_online"}


def test_conversations_and_messages_are_stored_in_postgresql(postgres_client: TestClient) -> None:
    conversation = open_conversation(postgres_client)
    say(postgres_client, conversation, "两融利率多少")
    assert postgres_client.get("/health").json()["checks"]["database"] == {"ok": True, "backend": "postgresql"}
    transcript = postgres_client.get(f"/api/v1/conversations/{conversation}/messages").json()["messages"]
    assert [(m["seq"], m["sender"]) for m in transcript] == [(1, "client"), (2, "bot")]
