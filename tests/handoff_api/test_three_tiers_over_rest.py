"""A conversation walked through all three tiers with the REST API alone (the README's walkthrough)."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from handoff_api.client_tokens import issue_client_token
from handoff_api.container import Container
from tests.handoff_api.conftest import ScriptedBot, bearer, login, open_conversation, say


def _wait_for_state(
    client: TestClient, conversation_id: str, state: str, auth: dict[str, str], seconds: float = 5.0
) -> dict[str, object]:
    deadline = time.monotonic() + seconds
    while True:
        body: dict[str, object] = client.get(f"/api/v1/conversations/{conversation_id}", headers=auth).json()
        if body["state"] == state or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def client_token(client: TestClient, client_id: str) -> dict[str, str]:
    """What the client app's backend signs for its client (here with the test app's own settings)."""
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    return bearer(issue_client_token(container.settings, client_id, container.clock.now()))


def test_bot_then_advisor_then_assigned_responder_then_resolved(
    client: TestClient, integration: dict[str, str]
) -> None:
    advisor = login(client, "adv01")
    assert client.post("/api/v1/staff/presence", json={"presence": "online"}, headers=advisor).status_code == 204

    conversation = open_conversation(client, "C10002", auth=integration)
    assert say(client, conversation, "科创板门槛", auth=integration)["replies"][0]["payload"]["type"] == "answer"
    unresolved = client.post(
        f"/api/v1/conversations/{conversation}/feedback", json={"resolved": False}, headers=integration
    ).json()
    assert unresolved["conversation"]["queue"] == "advisor"

    # the online advisor has capacity, so routing assigns the conversation (auto-assignment or a claim)
    state = _wait_for_state(client, conversation, "with_agent", integration)
    # the client's own app reads what it may show with a client token for C10002
    own = client_token(client, "C10002")
    facts = client.get(f"/api/v1/conversations/{conversation}/facts", headers=own).json()
    if facts["state"] == "with_agent":
        assert facts["serving"] == {"name": "张伟", "role": "advisor", "practice_number": "S0570120080012"}
    else:
        assert facts["position"] == 1 and facts["estimated_wait_seconds"] is not None
    if state["state"] == "queued":
        queue = client.get("/api/v1/staff/queues/advisor", headers=advisor).json()
        assert [item["conversation_id"] for item in queue] == [conversation]
        assert client.post(f"/api/v1/staff/conversations/{conversation}/claim", headers=advisor).status_code == 200
    mine = client.get("/api/v1/staff/conversations", headers=advisor).json()
    assert conversation in [c["id"] for c in mine]

    detail = client.get(f"/api/v1/staff/conversations/{conversation}", headers=advisor).json()
    assert [m["sender"] for m in detail["transcript"]][:2] == ["client", "bot"]
    assert detail["client"]["responder_id"] == "rsp01"

    reply = client.post(
        f"/api/v1/staff/conversations/{conversation}/reply", json={"text": "您好，我是投资顾问张伟。"}, headers=advisor
    )
    assert reply.status_code == 200
    assert reply.json()["served_by"]["tier"] == 2 and reply.json()["served_by"]["staff_id"] == "adv01"

    escalated = client.post(f"/api/v1/staff/conversations/{conversation}/unresolved", headers=advisor).json()
    assert escalated["state"] == "awaiting_responder" and escalated["tier"] == 3

    responder = login(client, "rsp01")
    inbox = client.get("/api/v1/staff/conversations", headers=responder).json()
    assert conversation in [c["id"] for c in inbox]
    other_responder = login(client, "rsp03")
    assert client.get(f"/api/v1/staff/conversations/{conversation}", headers=other_responder).status_code == 403

    answer = client.post(
        f"/api/v1/staff/conversations/{conversation}/reply",
        json={"text": "我是您的专属服务人员赵磊。"},
        headers=responder,
    )
    assert answer.status_code == 200 and answer.json()["served_by"] == {
        "tier": 3,
        "staff_id": "rsp01",
        "at": answer.json()["served_by"]["at"],
    }
    assert client.get(f"/api/v1/conversations/{conversation}", headers=own).json()["state"] == "with_responder"

    resolved = client.post(f"/api/v1/conversations/{conversation}/feedback", json={"resolved": True}, headers=own)
    assert resolved.json()["conversation"]["state"] in {"resolved", "bot"}

    transcript = client.get(f"/api/v1/conversations/{conversation}/messages", headers=own).json()["messages"]
    served = {(m["served_by"]["tier"], m["served_by"]["staff_id"]) for m in transcript if m["served_by"]}
    assert {(1, None), (2, "adv01"), (3, "rsp01")} <= served


def test_staff_api_refuses_without_a_valid_token_and_wrong_passwords(client: TestClient) -> None:
    assert client.get("/api/v1/staff/me").status_code == 401
    assert client.get("/api/v1/staff/me", headers={"Authorization": "Bearer forged"}).status_code == 401
    wrong = client.post("/api/v1/staff/login", json={"staff_id": "adv01", "password": "nope"})
    assert wrong.status_code == 401
    me = client.get("/api/v1/staff/me", headers=login(client, "adv01")).json()
    assert me["role"] == "advisor" and me["practice_number"]


def test_an_advisor_without_the_service_skill_cannot_see_the_service_queue(client: TestClient) -> None:
    advisor = login(client, "adv01")
    assert client.get("/api/v1/staff/queues/service", headers=advisor).status_code == 403
    assert client.get("/api/v1/staff/queues/advisor", headers=advisor).status_code == 200


def test_illegal_transitions_are_409_and_change_nothing(client: TestClient, integration: dict[str, str]) -> None:
    advisor = login(client, "adv01")
    conversation = open_conversation(client, auth=integration)
    response = client.post(f"/api/v1/staff/conversations/{conversation}/resolve", headers=advisor)
    assert response.status_code in {403, 409}
    assert client.get(f"/api/v1/conversations/{conversation}", headers=integration).json()["state"] == "bot"
    stale = client.post(f"/api/v1/staff/conversations/{conversation}/claim", headers=advisor)
    assert stale.status_code == 409


def test_unresolved_after_an_agent_resolved_moves_up_to_the_responder_not_back_to_the_bot(
    client: TestClient, bot: ScriptedBot, integration: dict[str, str]
) -> None:
    advisor = login(client, "adv01")
    client.post("/api/v1/staff/presence", json={"presence": "online"}, headers=advisor)
    conversation = open_conversation(client, "C10002", auth=integration)
    say(client, conversation, "给我推荐一只股票", auth=integration)
    state = _wait_for_state(client, conversation, "with_agent", integration)
    if state["state"] == "queued":
        client.post(f"/api/v1/staff/conversations/{conversation}/claim", headers=advisor)
    client.post(f"/api/v1/staff/conversations/{conversation}/reply", json={"text": "建议您关注风险。"}, headers=advisor)
    assert client.post(f"/api/v1/staff/conversations/{conversation}/resolve", headers=advisor).status_code == 200
    calls = len(bot.calls)
    body = client.post(
        f"/api/v1/conversations/{conversation}/feedback", json={"resolved": False}, headers=integration
    ).json()
    assert body["message"]["text"] == "问题未解答"
    assert body["conversation"]["state"] == "awaiting_responder" and body["conversation"]["tier"] == 3
    assert len(bot.calls) == calls


def test_clicking_resolved_while_waiting_for_a_person_is_stored_and_changes_nothing(
    client: TestClient, integration: dict[str, str]
) -> None:
    conversation = open_conversation(client, "C10003", auth=integration)
    say(client, conversation, "给我推荐一只股票", auth=integration)
    before = client.get(f"/api/v1/conversations/{conversation}", headers=integration).json()["state"]
    response = client.post(
        f"/api/v1/conversations/{conversation}/feedback", json={"resolved": True}, headers=integration
    )
    assert response.status_code == 200
    assert response.json()["conversation"]["state"] == before


def test_colleagues_are_tier2_staff_with_their_presence(client: TestClient) -> None:
    advisor = login(client, "adv01")
    client.post("/api/v1/staff/presence", json={"presence": "online"}, headers=login(client, "svc01"))
    colleagues = client.get("/api/v1/staff/colleagues", headers=advisor).json()
    roles = {member["role"] for member in colleagues}
    assert roles <= {"advisor", "service"} and "adv01" not in {member["id"] for member in colleagues}
    presence = {member["id"]: member["presence"] for member in colleagues}
    assert presence["svc01"] == "online" and presence["svc02"] == "offline"
