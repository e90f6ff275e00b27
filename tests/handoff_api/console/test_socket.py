"""The console socket on the shared socket plumbing: greeting, pings, errors and frame limits."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.handoff_api.console.test_routes import staff_token


def test_hello_names_the_staff_member_and_ping_is_answered(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as console:
        hello = console.receive_json()
        assert hello["type"] == "hello" and hello["staff"] == {"id": "svc01", "name": "刘洋", "role": "service"}
        assert isinstance(hello["worker"], int)  # development mode names the worker
        console.send_json({"type": "ping"})
        assert console.receive_json() == {"type": "pong"}


def test_bad_frames_get_error_envelopes_and_the_socket_stays_open(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as console:
        console.receive_json()
        console.send_text("{not json")
        assert console.receive_json()["code"] == "bad_json"
        console.send_json({"type": "launch_rockets"})
        assert console.receive_json()["code"] == "unknown_type"
        console.send_json({"type": "ping"})
        assert console.receive_json() == {"type": "pong"}


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (lambda console: console.send_bytes(b"\x00\x01"), 1003),
        (lambda console: console.send_text("x" * 5000), 1009),
    ],
)
def test_binary_and_oversized_frames_close_the_socket(client: TestClient, send, code: int) -> None:
    with client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as console:
        console.receive_json()
        send(console)
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(5):
                console.receive_json()
    assert closed.value.code == code


def test_a_flood_of_frames_is_closed_with_policy_violation(client: TestClient) -> None:
    with client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as console:
        console.receive_json()
        for _ in range(100):
            console.send_json({"type": "ping"})
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(200):
                console.receive_json()
    assert closed.value.code == 1008
