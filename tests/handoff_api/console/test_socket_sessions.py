"""The console socket ends with its token: on expiry, and within seconds of a logout, a revocation or disabling."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from handoff_api.container import Container
from handoff_api.staff.sessions import IssuedSession
from handoff_api.staff.staff_tokens import AUDIENCE
from handoff_api.token_secrets import staff_token_secret
from handoff_api.tokens import issue_token
from tests.handoff_api.widget.support import FakeBot, app_settings, build_app, on_app_loop

SETTINGS = app_settings(staff_session_check_seconds=0.1)


@pytest.fixture
def app(database: Path, fake_bot: FakeBot) -> FastAPI:
    return build_app(database, SETTINGS, fake_bot)


def container_of(client: TestClient) -> Container:
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    return container


def signed_in(client: TestClient, staff_id: str) -> IssuedSession:
    container = container_of(client)
    staff = on_app_loop(client, container.routing.find_staff, staff_id)
    assert staff is not None
    issued: IssuedSession = on_app_loop(client, container.sessions.start, staff)
    return issued


def closed_with(console: object) -> tuple[int, str]:
    """Read until the server closes the socket; its close code and reason."""
    with pytest.raises(WebSocketDisconnect) as closed:
        for _ in range(20):
            console.receive_json()  # type: ignore[attr-defined]
    return closed.value.code, closed.value.reason


def test_the_socket_closes_when_its_token_expires(client: TestClient) -> None:
    session = signed_in(client, "svc01")
    container = container_of(client)
    claims = {"sub": "svc01", "role": "service", "ver": session.staff.token_version, "sid": session.session_id}
    soon = issue_token(staff_token_secret(SETTINGS), AUDIENCE, claims, container.clock.now(), timedelta(seconds=3))
    with client.websocket_connect(f"/ws/console?token={soon}") as console:
        assert console.receive_json()["type"] == "hello"
        assert closed_with(console) == (4401, "token expired")


def test_the_socket_closes_soon_after_logout(client: TestClient) -> None:
    session = signed_in(client, "svc01")
    with client.websocket_connect(f"/ws/console?token={session.access_token}") as console:
        assert console.receive_json()["type"] == "hello"
        on_app_loop(client, container_of(client).sessions.end, session.staff, session.session_id)
        assert console.receive_json()["code"] == "unauthorized"
        assert closed_with(console) == (4401, "token revoked")


def test_the_socket_closes_soon_after_a_version_bump_or_disabling(client: TestClient) -> None:
    routing = container_of(client).routing
    first, second = signed_in(client, "svc01"), signed_in(client, "svc02")
    with client.websocket_connect(f"/ws/console?token={first.access_token}") as console:
        assert console.receive_json()["type"] == "hello"
        on_app_loop(client, routing.accounts.sign_out_everywhere, "svc01", "svc01")
        assert closed_with(console) == (4401, "token revoked")
    with client.websocket_connect(f"/ws/console?token={second.access_token}") as console:
        assert console.receive_json()["type"] == "hello"
        on_app_loop(client, routing.accounts.disable, "svc02", "admin")
        assert closed_with(console) == (4401, "staff member disabled")
    with client.websocket_connect(f"/ws/console?token={second.access_token}") as refused:
        assert refused.receive_json()["code"] == "unauthorized"
        assert closed_with(refused) == (4401, "staff member disabled")
