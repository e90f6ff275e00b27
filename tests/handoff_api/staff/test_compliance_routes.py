"""Compliance API: admins (and compliance staff) search and export; serving staff get 403; every use audited."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient

from handoff_api.container import Container
from routing.audit import AuditAction
from routing.models import Role, Staff
from routing.passwords import hash_password
from tests.handoff_api.conftest import login
from tests.handoff_api.staff.served import served_by_adv01
from tests.handoff_api.staff.test_routes import audit_entries

SEARCH = "/api/v1/staff/compliance/conversations"
ID_CARD = "110101199003071234"


def add_compliance_officer(client: TestClient) -> dict[str, str]:
    """A compliance officer (cmp01) in the running app's directory, signed in."""
    assert client.portal is not None
    record = client.app.state.container.routing.record  # type: ignore[attr-defined]
    officer = Staff("cmp01", "林合规", Role.COMPLIANCE, frozenset(), 1, "上海浦东营业部")
    client.portal.call(record.replace_staff, [officer])
    client.portal.call(record.set_password_hash, "cmp01", hash_password("demo1234"))
    return login(client, "cmp01")


def answered(client: TestClient, integration: dict[str, str]) -> str:
    conversation = served_by_adv01(client, integration)
    reply = client.post(
        f"/api/v1/staff/conversations/{conversation}/reply",
        json={"text": f"您的身份证{ID_CARD}已核实，科创板需要50万资产"},
        headers=login(client, "adv01"),
    )
    assert reply.status_code == 200, reply.text
    return conversation


def test_an_admin_finds_a_conversation_by_staff_and_text_with_a_masked_snippet(
    client: TestClient, integration: dict[str, str]
) -> None:
    conversation = answered(client, integration)
    admin = login(client, "admin")
    response = client.get(SEARCH, params={"staff_id": "adv01", "q": "已核实", "client_id": "C10002"}, headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["total"], body["page"]) == (1, 1)
    [item] = body["items"]
    assert item["conversation_id"] == conversation and item["client_id"] == "C10002"
    assert "已核实" in item["snippet"] and ID_CARD not in item["snippet"] and "110***" in item["snippet"]
    assert client.get(SEARCH, params={"q": "没有这句话"}, headers=admin).json()["total"] == 0
    searches = [e for e in audit_entries(client) if e.action == AuditAction.COMPLIANCE_SEARCH]
    assert [(e.actor, e.detail["text"], e.detail["hits"]) for e in searches] == [
        ("admin", "已核实", 1),
        ("admin", "没有这句话", 0),
    ]


def test_serving_staff_and_supervisors_may_not_search_or_export(
    client: TestClient, integration: dict[str, str]
) -> None:
    conversation = answered(client, integration)
    for staff_id in ("adv01", "rsp01", "dm-sh"):
        headers = login(client, staff_id)
        refused = client.get(SEARCH, headers=headers)
        assert refused.status_code == 403 and refused.json()["error"] == "Forbidden"
        assert client.get(f"{SEARCH}/{conversation}/export", headers=headers).status_code == 403
    assert not [e for e in audit_entries(client) if e.action in {AuditAction.COMPLIANCE_SEARCH, "data.export"}]


def test_bad_ranges_and_formats_are_4xx(client: TestClient) -> None:
    admin = login(client, "admin")
    reversed_range = client.get(SEARCH, params={"from": "2026-12-02T00:00:00", "to": "2026-12-01"}, headers=admin)
    assert reversed_range.status_code == 422 and "after" in reversed_range.json()["detail"]
    too_long = client.get(SEARCH, params={"from": "2020-01-01", "to": "2026-01-01"}, headers=admin)
    assert too_long.status_code == 422 and "at most 366 days" in too_long.json()["detail"]
    assert client.get(SEARCH, params={"from": "yesterday"}, headers=admin).status_code == 422
    assert client.get(SEARCH, params={"page": 0}, headers=admin).status_code == 422
    assert client.get(f"{SEARCH}/nope/export", headers=admin).status_code == 404
    assert client.get(f"{SEARCH}/nope/export?format=xml", headers=admin).status_code == 422


def test_exports_carry_the_full_text_who_served_and_their_practice_number(
    client: TestClient, integration: dict[str, str]
) -> None:
    conversation = answered(client, integration)
    admin = login(client, "admin")
    exported = client.get(f"{SEARCH}/{conversation}/export", params={"format": "csv"}, headers=admin)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert f"conversation-{conversation}.csv" in exported.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0] == ["序号", "时间", "发送方", "服务层级", "服务人员", "执业证书编号", "内容"]
    answer = next(row for row in rows if row[2] == "在线坐席")
    assert answer[3:6] == ["2", "张伟", "S0570120080012"] and ID_CARD in answer[6]
    assert answer[1].endswith("+08:00")

    document = json.loads(client.get(f"{SEARCH}/{conversation}/export?format=json", headers=admin).text)
    served = [m for m in document["messages"] if m["staff_id"] == "adv01"]
    assert served and served[0]["practice_number"] == "S0570120080012" and served[0]["at"].endswith("+08:00")
    assert document["conversation"]["id"] == conversation and document["client"]["id"] == "C10002"

    text = client.get(f"{SEARCH}/{conversation}/export?format=txt", headers=admin)
    assert text.headers["content-type"].startswith("text/plain")
    assert f"在线坐席 张伟（执业证书编号：S0570120080012）：您的身份证{ID_CARD}" in text.text

    exports = [e for e in audit_entries(client) if e.action == "data.export"]
    assert [(e.actor, e.subject, e.detail["format"]) for e in exports] == [
        ("admin", f"conversation:{conversation}", "csv"),
        ("admin", f"conversation:{conversation}", "json"),
        ("admin", f"conversation:{conversation}", "txt"),
    ]


def test_a_compliance_officer_searches_and_exports_but_serves_nothing(
    client: TestClient, integration: dict[str, str]
) -> None:
    conversation = answered(client, integration)
    officer = add_compliance_officer(client)
    found = client.get(SEARCH, params={"client_id": "C10002"}, headers=officer).json()
    assert [item["conversation_id"] for item in found["items"]] == [conversation]
    assert found["items"][0]["snippet"] is None  # no text filter, no snippet
    assert client.get(f"{SEARCH}/{conversation}/export?format=txt", headers=officer).status_code == 200
    assert client.get(f"/api/v1/staff/conversations/{conversation}", headers=officer).status_code == 403
    assert client.post("/api/v1/staff/claim", headers=officer).status_code == 403
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    assert container.routing.settings.compliance_page_size == found["page_size"]
