"""Canned replies API: every staff member reads their team's replies, rendered for a conversation;
supervisors add, change and remove them; unknown variables are refused with 422."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.handoff_api.conftest import login
from tests.handoff_api.staff.served import served_by_adv01

CANNED = "/api/v1/staff/canned-replies"


def test_everyone_starts_with_the_six_shared_replies(client: TestClient) -> None:
    replies = client.get(CANNED, headers=login(client, "adv01")).json()
    assert [r["team"] for r in replies] == ["all"] * 6
    assert "稍等" in {r["title"] for r in replies}
    assert client.get(CANNED).status_code == 401


def test_a_supervisor_adds_a_team_reply_that_its_team_sees_rendered(
    client: TestClient, integration: dict[str, str]
) -> None:
    supervisor = login(client, "dm-sh")
    created = client.post(
        CANNED,
        json={"team": "advisor", "title": "问候", "text": "{客户姓名}您好，我是{坐席姓名}。"},
        headers=supervisor,
    )
    assert created.status_code == 201, created.text
    reply_id = created.json()["id"]
    assert created.json()["updated_by"] == "dm-sh"
    assert reply_id in {r["id"] for r in client.get(CANNED, headers=login(client, "adv01")).json()}
    assert reply_id not in {r["id"] for r in client.get(CANNED, headers=login(client, "svc01")).json()}

    conversation = served_by_adv01(client, integration)
    rendered = client.get(CANNED, params={"conversation_id": conversation}, headers=login(client, "adv01")).json()
    assert {r["id"]: r["text"] for r in rendered}[reply_id] == "林婉清您好，我是张伟。"
    other = client.get(CANNED, params={"conversation_id": conversation}, headers=login(client, "rsp03"))
    assert other.status_code == 403


def test_supervisors_change_and_remove_and_list_every_team(client: TestClient) -> None:
    admin = login(client, "admin")
    reply_id = client.post(CANNED, json={"team": "responder", "title": "回访", "text": "a"}, headers=admin).json()["id"]
    changed = client.put(f"{CANNED}/{reply_id}", json={"team": "service", "title": "回访", "text": "b"}, headers=admin)
    assert changed.status_code == 200 and (changed.json()["team"], changed.json()["text"]) == ("service", "b")
    assert reply_id in {r["id"] for r in client.get(CANNED, params={"scope": "all"}, headers=admin).json()}
    assert client.delete(f"{CANNED}/{reply_id}", headers=admin).status_code == 204
    assert client.delete(f"{CANNED}/{reply_id}", headers=admin).status_code == 404
    assert (
        client.put(f"{CANNED}/{reply_id}", json={"team": "all", "title": "t", "text": "x"}, headers=admin).status_code
        == 404
    )


def test_bad_replies_are_refused_with_a_clear_message(client: TestClient) -> None:
    supervisor = login(client, "dm-sh")
    unknown = client.post(CANNED, json={"team": "all", "title": "t", "text": "{client_name}您好"}, headers=supervisor)
    assert unknown.status_code == 422
    assert unknown.json()["error"] == "ValidationFailed" and "{client_name}" in unknown.json()["detail"]
    assert client.post(CANNED, json={"team": "sales", "title": "t", "text": "x"}, headers=supervisor).status_code == 422
    assert client.post(CANNED, json={"team": "all", "title": "", "text": "x"}, headers=supervisor).status_code == 422


def test_serving_staff_may_not_edit(client: TestClient) -> None:
    advisor = login(client, "adv01")
    refused = client.post(CANNED, json={"team": "advisor", "title": "t", "text": "x"}, headers=advisor)
    assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
    assert client.delete(f"{CANNED}/canned-01", headers=advisor).status_code == 403
    assert client.get(CANNED, params={"scope": "all"}, headers=advisor).status_code == 403
    assert len(client.get(CANNED, headers=advisor).json()) == 6
