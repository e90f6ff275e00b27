"""Widget HTTP routes: demo page and tokens (development only), assets with cache validators."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from handoff_api.client_tokens import decode_client_token
from tests.handoff_api.widget.support import FakeBot, app_settings, build_app

PRODUCTION_SECRET = "a-production-secret-that-is-long-enough-0123456789"


def test_demo_token_is_issued_for_known_clients_in_development(client: TestClient) -> None:
    response = client.post("/api/v1/widget/demo-token", json={"client_id": "C10001"})
    assert response.status_code == 200
    body = response.json()
    assert (
        decode_client_token(app_settings(), body["token"], datetime.now(UTC)) == "C10001" and body["expires_in"] == 3600
    )
    assert client.post("/api/v1/widget/demo-token", json={"client_id": "C99999"}).status_code == 404
    assert client.post("/api/v1/widget/demo-token", json={"client_id": ""}).status_code == 422
    clients = client.get("/api/v1/widget/demo-clients").json()
    assert {"id": "C10001", "name": "陈晓明", "tier": "钻石", "vip": True, "branch": "上海浦东营业部"} in clients


def test_demo_page_and_tokens_do_not_exist_in_production(database: Path) -> None:
    settings = app_settings(app_mode="production", secret_key=PRODUCTION_SECRET)
    with TestClient(build_app(database, settings, FakeBot())) as production:
        assert production.post("/api/v1/widget/demo-token", json={"client_id": "C10001"}).status_code == 404
        assert production.get("/api/v1/widget/demo-clients").status_code == 404
        assert production.get("/demo").status_code == 404
        assert production.get("/widget/widget.js").status_code == 200


def test_demo_page_has_csp_and_loads_only_module_scripts(client: TestClient) -> None:
    response = client.get("/demo")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert '<script type="module" src="/widget/demo.js"></script>' in response.text
    assert "<script>" not in response.text


def test_widget_script_is_cached_and_revalidated(client: TestClient) -> None:
    first = client.get("/widget/widget.js")
    assert first.status_code == 200 and "max-age=300" in first.headers["cache-control"]
    etag = first.headers["etag"]
    assert client.get("/widget/widget.js", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/widget/widget.js", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/widget/missing.js").status_code == 404
