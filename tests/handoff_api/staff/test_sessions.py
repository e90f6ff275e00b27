"""Staff sessions over HTTP: refresh rotation and reuse, logout, logout everywhere, password change, disable."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from handoff_api.container import Container
from handoff_api.settings import Settings
from tests.handoff_api.conftest import open_conversation, say
from tests.handoff_api.staff.test_routes import audit_entries
from tests.handoff_api.widget.support import on_app_loop


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No periodic tick meanwhile: the tests tick routing themselves."""
    return settings.model_copy(update={"tick_seconds": 3600.0})


def sign_in(client: TestClient, staff_id: str, password: str = "demo1234") -> dict[str, Any]:
    response = client.post("/api/v1/staff/login", json={"staff_id": staff_id, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def auth(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def refresh(client: TestClient, refresh_token: str) -> Any:
    return client.post("/api/v1/staff/token/refresh", json={"refresh_token": refresh_token})


def me(client: TestClient, tokens: dict[str, Any]) -> int:
    return client.get("/api/v1/staff/me", headers=auth(tokens)).status_code


def container_of(client: TestClient) -> Container:
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    return container


def handed_to_tier2(client: TestClient, integration: dict[str, str]) -> str:
    """A conversation the client marked unresolved: the advisor queue, taken by whoever is online."""
    conversation = open_conversation(client, "C10002", auth=integration)
    say(client, conversation, "科创板门槛", auth=integration)
    feedback = f"/api/v1/conversations/{conversation}/feedback"
    assert client.post(feedback, json={"resolved": False}, headers=integration).status_code == 200
    return conversation


def test_sign_in_gives_a_pair_and_refresh_rotates_it(client: TestClient) -> None:
    first = sign_in(client, "svc01")
    assert first["refresh_token"] and first["refresh_expires_in"] == 12 * 3600
    renewed = refresh(client, first["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"] and second["staff"]["id"] == "svc01"
    assert me(client, second) == 200
    assert me(client, first) == 200  # the older access token lives until it expires (same session)


def test_a_reused_refresh_token_ends_the_session(client: TestClient) -> None:
    first = sign_in(client, "svc01")
    second = refresh(client, first["refresh_token"]).json()
    reused = refresh(client, first["refresh_token"])
    assert reused.status_code == 401 and reused.json() == {"error": "Unauthorized", "detail": "refresh token reused"}
    assert refresh(client, second["refresh_token"]).status_code == 401  # the whole family is revoked
    assert me(client, second) == 401
    assert [e.action for e in audit_entries(client) if e.actor == "svc01"][-1] == "staff.refresh_reused"
    assert refresh(client, "not-a-token").status_code == 401


def test_logout_revokes_this_session_only(client: TestClient) -> None:
    desk, laptop = sign_in(client, "svc01"), sign_in(client, "svc01")
    assert client.post("/api/v1/staff/logout", headers=auth(desk)).status_code == 204
    assert me(client, desk) == 401
    assert refresh(client, desk["refresh_token"]).status_code == 401
    assert me(client, laptop) == 200


def test_logout_everywhere_refuses_every_token(client: TestClient) -> None:
    desk, laptop = sign_in(client, "svc01"), sign_in(client, "svc01")
    assert client.post("/api/v1/staff/logout-all", headers=auth(laptop)).status_code == 204
    assert me(client, desk) == 401 and me(client, laptop) == 401
    assert refresh(client, desk["refresh_token"]).status_code == 401
    assert me(client, sign_in(client, "svc01")) == 200


def test_a_password_change_bumps_the_version_and_keeps_this_console_signed_in(client: TestClient) -> None:
    old, other = sign_in(client, "svc01"), sign_in(client, "svc01")
    path = "/api/v1/staff/password"
    wrong = client.post(path, json={"old_password": "nope", "new_password": "a-long-new-one"}, headers=auth(old))
    assert wrong.status_code == 403
    short = client.post(path, json={"old_password": "demo1234", "new_password": "short1234"}, headers=auth(old))
    assert short.status_code == 422 and "10 characters" in short.json()["detail"]
    changed = client.post(path, json={"old_password": "demo1234", "new_password": "a-long-new-one"}, headers=auth(old))
    assert changed.status_code == 200, changed.text
    assert me(client, old) == 401 and me(client, other) == 401
    assert refresh(client, other["refresh_token"]).status_code == 401
    assert me(client, changed.json()) == 200
    old_password = client.post("/api/v1/staff/login", json={"staff_id": "svc01", "password": "demo1234"})
    assert old_password.status_code == 401
    assert me(client, sign_in(client, "svc01", "a-long-new-one")) == 200


def test_disabling_refuses_the_member_and_gives_their_conversation_back(
    client: TestClient, integration: dict[str, str]
) -> None:
    agent = sign_in(client, "adv01")
    assert client.post("/api/v1/staff/presence", json={"presence": "online"}, headers=auth(agent)).status_code == 204
    conversation = handed_to_tier2(client, integration)
    held = client.get("/api/v1/staff/conversations", headers=auth(agent)).json()
    assert [c["id"] for c in held] == [conversation]

    admin = auth(sign_in(client, "admin"))
    assert client.post("/api/v1/staff/members/adv01/disable", headers=auth(sign_in(client, "dm-sh"))).status_code == 403
    disabled = client.post("/api/v1/staff/members/adv01/disable", headers=admin)
    assert disabled.status_code == 200, disabled.text
    # nobody else of tier 2 is online: like an agent going offline, it goes to the client's responder
    assert disabled.json() == {"staff_id": "adv01", "active": False, "requeued": 0, "passed_on": 1, "kept": 0}
    assert me(client, agent) == 401
    assert refresh(client, agent["refresh_token"]).status_code == 401
    refused = client.post("/api/v1/staff/login", json={"staff_id": "adv01", "password": "demo1234"})
    assert refused.status_code == 403
    view = client.get(f"/api/v1/staff/conversations/{conversation}", headers=admin).json()
    assert (view["conversation"]["state"], view["conversation"]["assignee_id"]) == ("awaiting_responder", "rsp01")

    assert client.post("/api/v1/staff/members/adv01/enable", headers=admin).json() == {
        "staff_id": "adv01",
        "active": True,
    }
    assert me(client, agent) == 401  # enabling does not revive old tokens
    assert me(client, sign_in(client, "adv01")) == 200
    assert client.post("/api/v1/staff/members/ghost/disable", headers=admin).status_code == 404
    assert client.post("/api/v1/staff/members/admin/disable", headers=admin).status_code == 422


def test_a_member_disabled_elsewhere_is_released_by_the_tick(client: TestClient, integration: dict[str, str]) -> None:
    agent = sign_in(client, "adv01")
    client.post("/api/v1/staff/presence", json={"presence": "online"}, headers=auth(agent))
    conversation = handed_to_tier2(client, integration)
    routing = container_of(client).routing
    on_app_loop(client, routing.record.set_staff_active, "adv01", False)  # as `disable-staff` does
    report = on_app_loop(client, routing.tick)
    assert report.released == 1
    moved = on_app_loop(client, routing.get_conversation, conversation)
    assert (moved.state.value, moved.assignee_id) == ("awaiting_responder", "rsp01")  # nobody else in tier 2
    assert on_app_loop(client, routing.tick).released == 0
