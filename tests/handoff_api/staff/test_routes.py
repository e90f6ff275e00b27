"""Staff routes: opening a client's conversation is audited once per open, not per refresh; lists are masked."""

from __future__ import annotations

from fastapi.testclient import TestClient

from routing.audit import ChainedEntry
from routing.sql_audit import AuditLogReader
from tests.handoff_api.conftest import login, open_conversation, say
from tests.handoff_api.widget.support import on_app_loop


def audit_entries(client: TestClient) -> list[ChainedEntry]:
    reader = AuditLogReader(client.app.state.container.routing.record.engine)  # type: ignore[attr-defined]
    return on_app_loop(client, reader.latest, 1000)


def waiting_conversation(client: TestClient, text: str, auth: dict[str, str]) -> str:
    conversation = open_conversation(client, "C10002", auth=auth)
    say(client, conversation, text, auth=auth)
    response = client.post(f"/api/v1/conversations/{conversation}/feedback", json={"resolved": False}, headers=auth)
    assert response.status_code == 200, response.text
    return conversation


def test_each_open_is_audited_and_refreshes_are_not(client: TestClient, integration: dict[str, str]) -> None:
    conversation = waiting_conversation(client, "科创板门槛", integration)
    supervisor = login(client, "dm-sh")
    detail = f"/api/v1/staff/conversations/{conversation}"
    assert client.get(f"{detail}?opened=true", headers=supervisor).status_code == 200
    for _ in range(3):  # the console re-reading the open conversation after events
        assert client.get(detail, headers=supervisor).status_code == 200
    assert client.get(f"{detail}?opened=true", headers=supervisor).status_code == 200
    opens = [e for e in audit_entries(client) if e.subject == conversation and e.action.startswith("conversation.")]
    assert [(e.actor, e.action) for e in opens] == [
        ("client", "conversation.start"),
        ("dm-sh", "conversation.open"),
        ("dm-sh", "conversation.open"),
    ]
    assert opens[-1].detail["client_id"] == "C10002"
    assert on_app_loop(client, AuditLogReader(client.app.state.container.routing.record.engine).verify).ok  # type: ignore[attr-defined]


def test_a_refused_open_is_403_and_not_audited(client: TestClient, integration: dict[str, str]) -> None:
    conversation = waiting_conversation(client, "科创板门槛", integration)
    other_responder = login(client, "rsp03")
    response = client.get(f"/api/v1/staff/conversations/{conversation}?opened=true", headers=other_responder)
    assert response.status_code == 403
    assert not [e for e in audit_entries(client) if e.actor == "rsp03" and e.action == "conversation.open"]
    assert (
        client.get(
            f"/api/v1/staff/conversations/{conversation}?opened=maybe", headers=login(client, "dm-sh")
        ).status_code
        == 422
    )


def test_staff_text_and_transfer_targets_with_a_lone_surrogate_are_422(
    client: TestClient, integration: dict[str, str]
) -> None:
    conversation = waiting_conversation(client, "推荐一只股票", integration)
    advisor = login(client, "adv01")
    assert client.post(f"/api/v1/staff/conversations/{conversation}/claim", headers=advisor).status_code in {200, 409}
    headers = {"content-type": "application/json", **advisor}
    for action, body in (("reply", b'{"text": "\\ud800"}'), ("transfer", b'{"staff_id": "adv0\\ud800"}')):
        response = client.post(f"/api/v1/staff/conversations/{conversation}/{action}", content=body, headers=headers)
        assert response.status_code == 422, (action, response.text)
        assert response.json()["error"] == "ValidationError" and "lone surrogate" in response.json()["detail"]
    login_body = b'{"staff_id": "adv01", "password": "demo\\udc00"}'
    assert client.post("/api/v1/staff/login", content=login_body, headers=headers).status_code == 422
    typo = client.post(
        f"/api/v1/staff/conversations/{conversation}/transfer", json={"queu": "service"}, headers=advisor
    )
    assert typo.status_code == 422 and "queu" in typo.json()["detail"]
