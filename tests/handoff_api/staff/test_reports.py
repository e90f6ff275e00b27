"""Supervisor reports over the staff API (JSON and CSV) and the client's rating route."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from routing.audit import AuditAction
from tests.handoff_api.conftest import login, open_conversation, say
from tests.handoff_api.staff.test_routes import audit_entries


def around_today(client: TestClient) -> str:
    container = client.app.state.container  # type: ignore[attr-defined]
    today: date = container.clock.now().astimezone(ZoneInfo("Asia/Shanghai")).date()
    return f"from={(today - timedelta(days=1)).isoformat()}&to={(today + timedelta(days=1)).isoformat()}"


def a_rated_bot_answer(client: TestClient, auth: dict[str, str], client_id: str = "C10002") -> str:
    conversation = open_conversation(client, client_id, auth=auth)
    say(client, conversation, "科创板开通条件", auth=auth)
    response = client.post(f"/api/v1/conversations/{conversation}/feedback", json={"resolved": True}, headers=auth)
    assert response.status_code == 200, response.text
    rated = client.post(f"/api/v1/conversations/{conversation}/rating", json={"score": 5}, headers=auth)
    assert rated.status_code == 201, rated.text
    assert (rated.json()["score"], rated.json()["tier"], rated.json()["staff_id"]) == (5, 1, None)
    return conversation


def test_a_rating_once_per_resolution(client: TestClient, integration: dict[str, str]) -> None:
    conversation = a_rated_bot_answer(client, integration)
    again = client.post(f"/api/v1/conversations/{conversation}/rating", json={"score": 4}, headers=integration)
    assert (again.status_code, again.json()["error"]) == (409, "AlreadyRated")
    for score in (0, 6, "五"):
        bad = client.post(f"/api/v1/conversations/{conversation}/rating", json={"score": score}, headers=integration)
        assert bad.status_code == 422, bad.text
    fresh = open_conversation(client, "C10003", auth=integration)
    nothing = client.post(f"/api/v1/conversations/{fresh}/rating", json={"score": 3}, headers=integration)
    assert (nothing.status_code, nothing.json()["error"]) == (422, "ValidationFailed")


def test_reports_per_tier_for_supervisors(client: TestClient, integration: dict[str, str]) -> None:
    a_rated_bot_answer(client, integration)
    supervisor = login(client, "dm-sh")
    response = client.get(f"/api/v1/staff/reports?{around_today(client)}&by=tier", headers=supervisor)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["by"] == "tier"
    bot = body["rows"][0]
    assert (bot["key"], bot["label"], bot["volume"], bot["bot_confirmed"]) == ("1", "智能投顾机器人", 1, 1)
    assert (bot["ratings"], bot["average_rating"], bot["rating_counts"]) == (1, 5.0, [0, 0, 0, 0, 1])
    queues = client.get(f"/api/v1/staff/reports?{around_today(client)}&by=queue", headers=supervisor).json()
    assert [row["key"] for row in queues["rows"]] == ["advisor", "service"]
    assert (
        client.get(f"/api/v1/staff/reports?{around_today(client)}", headers=login(client, "admin")).status_code == 200
    )


def test_a_duty_manager_sees_the_figures_of_their_own_branch(client: TestClient, integration: dict[str, str]) -> None:
    a_rated_bot_answer(client, integration, "C20002")  # a client of 北京金融街营业部

    def bot_volume(staff_id: str) -> tuple[int, int]:
        auth = login(client, staff_id)
        report = client.get(f"/api/v1/staff/reports?{around_today(client)}&by=tier", headers=auth)
        today = client.get("/api/v1/staff/stats/today", headers=auth)
        assert (report.status_code, today.status_code) == (200, 200), (report.text, today.text)
        return report.json()["rows"][0]["volume"], today.json()["conversations"]

    assert bot_volume("dm-bj") == (1, 1)
    assert bot_volume("admin") == (1, 1)
    assert bot_volume("dm-sh") == (0, 0)
    refused = client.get("/api/v1/staff/stats/today", headers=login(client, "rsp03"))
    assert (refused.status_code, refused.json()["error"]) == (403, "Forbidden")


def test_reports_refuse_others_and_bad_ranges(client: TestClient) -> None:
    supervisor = login(client, "dm-sh")
    refused = client.get(f"/api/v1/staff/reports?{around_today(client)}", headers=login(client, "adv01"))
    assert (refused.status_code, refused.json()["error"]) == (403, "Forbidden")
    too_long = client.get("/api/v1/staff/reports?from=2024-01-01&to=2025-06-30", headers=supervisor)
    assert (too_long.status_code, too_long.json()["error"]) == (422, "ValidationFailed")
    assert "366" in too_long.json()["detail"]
    reversed_range = client.get("/api/v1/staff/reports?from=2026-03-02&to=2026-03-01", headers=supervisor)
    assert reversed_range.status_code == 422
    for query in ("from=2026-13-01&to=2026-12-31", "to=2026-03-01", "from=2026-03-01&to=2026-03-02&by=team"):
        bad = client.get(f"/api/v1/staff/reports?{query}", headers=supervisor)
        assert (bad.status_code, bad.json()["error"]) == (422, "ValidationError"), query
    assert client.get(f"/api/v1/staff/reports.csv?{around_today(client)}").status_code == 401


def test_the_csv_opens_in_excel_and_is_audited(client: TestClient, integration: dict[str, str]) -> None:
    a_rated_bot_answer(client, integration)
    supervisor = login(client, "dm-sh")
    response = client.get(f"/api/v1/staff/reports.csv?{around_today(client)}&by=agent", headers=supervisor)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith("\ufeff".encode())
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["编号", "名称", "接待量"] and len(lines[0]) == 17
    tiers = client.get(f"/api/v1/staff/reports.csv?{around_today(client)}", headers=supervisor)
    rows = list(csv.reader(io.StringIO(tiers.content.decode("utf-8-sig"))))[1:]
    bot = rows[0]
    assert (bot[0], bot[1], bot[2], bot[3], bot[11]) == ("1", "智能投顾机器人", "1", "1", "5")
    exports = [e for e in audit_entries(client) if e.action == AuditAction.DATA_EXPORT]
    assert [(e.actor, e.subject, e.detail["by"], e.detail["rows"]) for e in exports] == [
        ("dm-sh", "reports", "agent", 0),
        ("dm-sh", "reports", "tier", 3),
    ]
