"""Console page, assets and the live-event WebSocket with per-role filtering."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from handoff_api.console import routes
from routing.models import Channel, EscalationReason, Presence, QueueName
from tests.handoff_api.widget.support import occupy, on_app_loop


def staff_token(client: TestClient, staff_id: str) -> str:
    container = client.app.state.container  # type: ignore[attr-defined]
    staff = on_app_loop(client, container.routing.find_staff, staff_id)
    assert staff is not None
    return str(on_app_loop(client, container.sessions.start, staff).access_token)


def events_until(ws: Any, predicate, limit: int = 40) -> list[dict[str, Any]]:
    """Read console envelopes until an event matches; return the events read."""
    seen = []
    for _ in range(limit):
        envelope = ws.receive_json()
        if envelope["type"] != "event":
            continue
        seen.append(envelope["event"])
        if predicate(envelope["event"]):
            return seen
    raise AssertionError(f"no matching event in {seen}")


def test_console_page_has_csp_and_no_inline_script(client: TestClient) -> None:
    response = client.get("/console")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "connect-src 'self' ws://testserver wss://testserver" in policy
    assert response.headers["cache-control"] == "no-cache"
    assert "<script>" not in response.text and 'src="/console/static/console.js"' in response.text


def test_console_assets_are_cached_and_revalidated(client: TestClient) -> None:
    first = client.get("/console/static/console.js")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/javascript")
    assert first.headers["cache-control"] == "no-cache"  # modules are always revalidated: never old beside new
    assert "max-age=300" in client.get("/console/static/console.css").headers["cache-control"]
    again = client.get("/console/static/console.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/console/static/../routes.py").status_code == 404
    assert client.get("/console/static/nothing.js").status_code == 404


def test_every_console_module_is_served_as_javascript(client: TestClient) -> None:
    served: set[str] = set()
    waiting = {"console.js", "learning.js"}
    while waiting:  # the pages' whole import graphs
        name = waiting.pop()
        response = client.get(f"/console/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        assert response.headers["cache-control"] == "no-cache" and response.headers["etag"]
        served.add(name)
        waiting |= set(re.findall(r'from "(?:\./|/console/static/)([\w-]+\.js)"', response.text)) - served
    on_disk = {path.name for path in (Path(routes.__file__).parent / "static").glob("*.js")}
    assert served == on_disk, "every module is imported, and every import is a served file"


def test_console_socket_refuses_bad_staff_token(client: TestClient) -> None:
    with client.websocket_connect("/ws/console?token=forged") as ws:
        assert ws.receive_json()["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401


def test_agent_sees_own_queue_and_conversation_but_not_other_queue(client: TestClient, token_for, app) -> None:
    container = app.state.container
    on_app_loop(client, occupy, container, "svc02")
    on_app_loop(client, occupy, container, "adv02")
    with client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as console:
        assert console.receive_json()["type"] == "hello"
        advisor_conversation = on_app_loop(client, container.routing.start_conversation, "C10005", Channel.WIDGET)
        on_app_loop(
            client,
            container.routing.escalate_from_bot,
            advisor_conversation.id,
            EscalationReason.ADVICE_REQUEST,
            None,
            "推荐股票",
        )
        service_conversation = on_app_loop(client, container.routing.start_conversation, "C10003", Channel.WIDGET)
        on_app_loop(
            client,
            container.routing.escalate_from_bot,
            service_conversation.id,
            EscalationReason.ASKED_HUMAN,
            QueueName.SERVICE,
            "改手机号",
        )
        seen = events_until(console, lambda e: e["type"] == "queued")
        assert all(e.get("conversation_id") != advisor_conversation.id for e in seen)
        assert seen[-1]["conversation_id"] == service_conversation.id and seen[-1]["queue"] == "service"
        on_app_loop(client, container.routing.claim, "svc01", service_conversation.id)
        on_app_loop(client, container.flow.client_message, service_conversation.id, "请问怎么改手机号")
        seen = events_until(console, lambda e: e["type"] == "message" and e["sender"] == "client")
        assert seen[-1]["text"] == "请问怎么改手机号"
        assert all(e.get("conversation_id") != advisor_conversation.id for e in seen)


def test_supervisor_sees_every_event(client: TestClient, app) -> None:
    container = app.state.container
    with client.websocket_connect(f"/ws/console?token={staff_token(client, 'dm-sh')}") as console:
        assert console.receive_json()["type"] == "hello"
        on_app_loop(client, container.routing.set_presence, "adv01", Presence.ONLINE)
        seen = events_until(console, lambda e: e["type"] == "presence")
        assert seen[-1] == {"type": "presence", "staff_id": "adv01", "presence": "online"}


def test_holder_typing_reaches_the_widget(client: TestClient, token_for, app) -> None:
    container = app.state.container
    on_app_loop(client, occupy, container, "svc02")
    with client.websocket_connect(f"/ws/widget?token={token_for('C10003')}") as widget:
        hello = widget.receive_json()
        conversation_id = hello["conversation_id"]
        widget.send_json({"type": "resume", "last_seq": 0})
        widget.send_json({"type": "ask_human"})
        on_app_loop(client, container.routing.claim, "svc01", conversation_id) if _queued(widget) else None
        with client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as console:
            assert console.receive_json()["type"] == "hello"
            console.send_json({"type": "typing", "conversation_id": conversation_id})
            console.send_json({"type": "ping"})
            assert console.receive_json()["type"] in {"pong", "event"}
            for _ in range(40):
                envelope = widget.receive_json()
                if envelope["type"] == "typing":
                    assert envelope == {"type": "typing", "sender": "agent", "name": "刘洋"}
                    break
            else:
                raise AssertionError("no typing envelope")


def _queued(widget: Any) -> bool:
    return any(widget.receive_json()["type"] == "queue_position" for _ in range(40))


def test_non_holder_typing_is_not_forwarded(client: TestClient, app) -> None:
    container = app.state.container
    conversation = on_app_loop(client, container.routing.start_conversation, "C10003", Channel.WIDGET)
    subscription = on_app_loop(client, app.state.event_bus.subscribe)
    with client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as console:
        assert console.receive_json()["type"] == "hello"
        console.send_json({"type": "typing", "conversation_id": conversation.id})
        console.send_json({"type": "ping"})
        assert console.receive_json()["type"] == "pong"
    assert on_app_loop(client, subscription.next_event, 0.3) is None


def test_client_typing_reaches_the_holders_console(client: TestClient, token_for, app) -> None:
    container = app.state.container
    on_app_loop(client, occupy, container, "svc02")
    with client.websocket_connect(f"/ws/widget?token={token_for('C10003')}") as widget:
        conversation_id = widget.receive_json()["conversation_id"]
        widget.send_json({"type": "resume", "last_seq": 0})
        widget.send_json({"type": "ask_human"})
        assert _queued(widget)
        on_app_loop(client, container.routing.claim, "svc01", conversation_id)
        with client.websocket_connect(f"/ws/console?token={staff_token(client, 'svc01')}") as console:
            assert console.receive_json()["type"] == "hello"
            widget.send_json({"type": "typing"})
            seen = events_until(console, lambda e: e["type"] == "typing")
            assert seen[-1] == {"type": "typing", "conversation_id": conversation_id, "sender": "client", "name": None}
