"""Widget HTTP routes: demo page and tokens (development only), assets with cache validators."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from handoff_api.client_tokens import decode_client_token
from handoff_api.token_secrets import client_token_secret
from handoff_api.widget import routes
from routing.models import Client
from tests.handoff_api.widget.support import FakeBot, app_settings, build_app, on_app_loop

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
    settings = app_settings(
        app_mode="production", staff_token_secret=PRODUCTION_SECRET, client_token_secret=PRODUCTION_SECRET[::-1]
    )
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


def test_widget_script_is_revalidated_on_every_load(client: TestClient) -> None:
    first = client.get("/widget/widget.js")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"  # never beside older modules
    etag = first.headers["etag"]
    assert client.get("/widget/widget.js", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/widget/widget.js", headers={"If-None-Match": '"other"'}).status_code == 200
    assert client.get("/widget/missing.js").status_code == 404


def module_imports(source: str) -> set[str]:
    """The sibling modules a script imports: `from "./x.js"` and `import(new URL("x.js", …))`."""
    return set(re.findall(r'from "\./([\w-]+\.js)"', source)) | set(re.findall(r'new URL\("([\w-]+\.js)"', source))


def test_widget_js_is_a_classic_bootstrap_that_imports_the_widget_modules(client: TestClient) -> None:
    bootstrap = client.get("/widget/widget.js").text
    assert "document.currentScript" in bootstrap and "window.TREWidget = {" in bootstrap
    assert not re.search(r"^\s*(import|export)\s", bootstrap, re.MULTILINE)  # a plain <script src> runs it
    assert module_imports(bootstrap) == {"widget-main.js"}


def test_every_widget_module_is_served_as_javascript_with_cors_and_validators(client: TestClient) -> None:
    served: set[str] = set()
    waiting = {"widget-main.js"}
    while waiting:  # the whole import graph, from widget-main.js
        name = waiting.pop()
        response = client.get(f"/widget/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert response.headers["access-control-allow-origin"] == "*"  # module scripts are fetched with CORS
        assert response.headers["cache-control"] == "no-cache" and response.headers["etag"]
        again = client.get(f"/widget/{name}", headers={"If-None-Match": response.headers["etag"]})
        assert again.status_code == 304 and again.headers["access-control-allow-origin"] == "*"
        served.add(name)
        waiting |= module_imports(response.text) - served
    on_disk = {path.name for path in (Path(routes.__file__).parent / "static").glob("widget-*.js")}
    assert served == on_disk, "every module is imported, and every import is a served file"


def test_widget_modules_load_from_other_origins(client: TestClient) -> None:
    cross = client.get("/widget/widget-main.js", headers={"Origin": "https://app.example"})
    assert cross.status_code == 200 and cross.headers["access-control-allow-origin"] == "*"
    assert client.get("/widget/widget.css").headers["access-control-allow-origin"] == "*"


def test_demo_tokens_are_issued_for_the_demo_clients_only(client: TestClient) -> None:
    container = client.app.state.container  # type: ignore[attr-defined]
    real = Client("K88001", "真实客户", "黄金", False, "上海浦东营业部", "rsp01")
    on_app_loop(client, container.routing.record.replace_clients, [real])
    refused = client.post("/api/v1/widget/demo-token", json={"client_id": "K88001"})
    assert refused.status_code == 404 and "demo clients only" in refused.json()["detail"]
    assert "K88001" not in {c["id"] for c in client.get("/api/v1/widget/demo-clients").json()}


def test_the_widget_keeps_one_open_conversation_per_client(client: TestClient, token_for) -> None:
    token = token_for("C10004")
    with client.websocket_connect(f"/ws/widget?token={token}") as first:
        opened = first.receive_json()["conversation_id"]
    with client.websocket_connect(f"/ws/widget?token={token}") as second:  # a new tab, nothing in localStorage
        assert second.receive_json()["conversation_id"] == opened
    container = client.app.state.container  # type: ignore[attr-defined]
    on_app_loop(client, container.routing.close, None, opened)
    with client.websocket_connect(f"/ws/widget?token={token}") as third:
        assert third.receive_json()["conversation_id"] != opened


def test_a_client_token_longer_lived_than_allowed_is_refused_by_the_socket(client: TestClient) -> None:
    settings = app_settings()
    now = int(datetime.now(UTC).timestamp())
    claims = {"client_id": "C10004", "aud": "client", "iat": now, "exp": now + 48 * 3600}
    token = jwt.encode(claims, client_token_secret(settings))
    with client.websocket_connect(f"/ws/widget?token={token}") as session:
        assert session.receive_json()["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive_json()
    assert (closed.value.code, closed.value.reason) == (4401, "token lifetime exceeds CLIENT_TOKEN_MAX_MINUTES")


def test_a_client_beyond_the_socket_cap_loses_the_oldest_socket(database: Path, token_for) -> None:
    with TestClient(build_app(database, app_settings(widget_max_sockets_per_client=2), FakeBot())) as client:
        token = token_for("C10004")
        runtime = client.app.state  # type: ignore[attr-defined]
        with client.websocket_connect(f"/ws/widget?token={token}") as first:
            opened = first.receive_json()["conversation_id"]
            with client.websocket_connect(f"/ws/widget?token={token}") as second:
                assert second.receive_json()["conversation_id"] == opened
                assert runtime.widget_runtime.socket_count("C10004") == 2
                with client.websocket_connect(f"/ws/widget?token={token}") as third:  # one too many
                    assert third.receive_json()["conversation_id"] == opened
                    envelopes = []
                    with pytest.raises(WebSocketDisconnect) as closed:
                        while True:
                            envelopes.append(first.receive_json())
                    assert (closed.value.code, closed.value.reason) == (4409, "replaced by a newer session")
                    assert envelopes[-1]["code"] == "session_replaced"
                    third.send_json({"type": "ping"})
                    assert third.receive_json()["type"] == "pong"
        assert runtime.widget_runtime.socket_count("C10004") == 0


def test_the_widget_style_is_cached_for_minutes(client: TestClient) -> None:
    response = client.get("/widget/widget.css")
    assert response.status_code == 200 and "max-age=300" in response.headers["cache-control"]
