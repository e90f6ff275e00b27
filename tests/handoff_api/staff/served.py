"""A conversation of demo client C10002 that the advisor adv01 (张伟, S0570120080012) serves, over the REST API."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.handoff_api.conftest import login, open_conversation, say


def served_by_adv01(client: TestClient, integration: dict[str, str], question: str = "科创板门槛") -> str:
    """Open, ask, say 问题未解答 (to the advisor queue), then adv01 holds it (auto-assigned or claimed)."""
    advisor = login(client, "adv01")
    assert client.post("/api/v1/staff/presence", json={"presence": "online"}, headers=advisor).status_code == 204
    conversation = open_conversation(client, "C10002", auth=integration)
    say(client, conversation, question, auth=integration)
    feedback = client.post(
        f"/api/v1/conversations/{conversation}/feedback", json={"resolved": False}, headers=integration
    )
    assert feedback.status_code == 200, feedback.text
    state = client.get(f"/api/v1/conversations/{conversation}", headers=integration).json()["state"]
    if state == "queued":
        claimed = client.post(f"/api/v1/staff/conversations/{conversation}/claim", headers=advisor)
        assert claimed.status_code in {200, 409}, claimed.text
    assert client.get(f"/api/v1/conversations/{conversation}", headers=integration).json()["state"] == "with_agent"
    return conversation
