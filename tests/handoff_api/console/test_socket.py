"""The console socket on the shared socket plumbing: greeting, pings, errors, frame limits and masked events."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from routing.models import Channel, EscalationReason, QueueName
from tests.handoff_api.console.test_routes import events_until, staff_token
from tests.handoff_api.widget.support import occupy, on_app_loop


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


def test_a_message_reaches_its_holder_whole_and_watchers_masked(client: TestClient, app) -> None:
    container = app.state.container
    on_app_loop(client, occupy, container, "svc02")
    conversation = on_app_loop(client, container.routing.start_conversation, "C10003", Channel.WIDGET)
    on_app_loop(
        client,
        container.routing.escalate_from_bot,
        conversation.id,
        EscalationReason.ASKED_HUMAN,
        QueueName.SERVICE,
        "改手机号",
    )
    on_app_loop(client, container.routing.claim, "svc01", conversation.id)
    text = "我的新手机号是13812345678，身份证110101199003071234"
    with (
        client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as holder,
        client.websocket_connect(f"/ws/console?token={staff_token(client, 'dm-sh')}") as supervisor,
    ):
        assert holder.receive_json()["type"] == "hello" and supervisor.receive_json()["type"] == "hello"
        on_app_loop(client, container.routing.record_client_message, conversation.id, text)
        is_it = lambda e: e["type"] == "message" and e["conversation_id"] == conversation.id  # noqa: E731
        assert events_until(holder, is_it)[-1]["text"] == text
        assert events_until(supervisor, is_it)[-1]["text"] == "我的新手机号是138****5678，身份证110***********1234"
