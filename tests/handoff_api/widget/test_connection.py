"""The widget WebSocket protocol over the real routing service and SQL record (fake bot)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from handoff_api.client_tokens import issue_client_token
from routing.events import Typing, to_wire
from routing.models import SenderKind
from tests.handoff_api.widget.support import FakeBot, app_settings, occupy, on_app_loop

ORDINARY = "C10003"
VIP = "C10001"
OTHER = "C10002"


def receive_until(ws: Any, kind: str, limit: int = 50) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Read envelopes until one of `kind`; return it and everything read before it."""
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        envelope = ws.receive_json()
        if envelope["type"] == kind:
            return envelope, seen
        seen.append(envelope)
    raise AssertionError(f"no {kind} envelope within {limit}: {[e['type'] for e in seen]}")


@contextmanager
def open_session(
    client: TestClient, token: str, last_seq: int = 0, conversation_id: str | None = None
) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    """Connect, read the session envelope, resume from `last_seq`; yield the socket and what came."""
    url = f"/ws/widget?token={token}" + (f"&conversation_id={conversation_id}" if conversation_id else "")
    with client.websocket_connect(url) as session:
        hello = session.receive_json()
        assert hello["type"] == "session"
        session.send_json({"type": "resume", "last_seq": last_seq})
        resumed, replay = receive_until(session, "resumed", limit=1000)
        yield session, hello, resumed, replay


def test_faq_answer_comes_with_feedback_request_and_ack(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, hello, _, _):
        assert hello["client_id"] == ORDINARY and hello["state"] == "bot"
        session.send_json({"type": "message", "text": "科创板怎么开通", "client_msg_id": "m-1"})
        mine, _ = receive_until(session, "message")
        assert mine["sender"] == "client" and mine["client_msg_id"] == "m-1" and mine["seq"] == 1
        answer, _ = receive_until(session, "message")
        assert answer["sender"] == "bot" and answer["payload"]["faq_id"] == "bg-kcb-threshold" and answer["seq"] == 2
        request, _ = receive_until(session, "feedback_request")
        assert request["seq"] == 2 and request["tier"] == 1
        ack, _ = receive_until(session, "ack")
        assert ack == {"type": "ack", "client_msg_id": "m-1", "seq": 1}


def test_stars_after_a_resolved_answer_are_stored_once(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        session.send_json({"type": "rate", "score": 5})
        early, _ = receive_until(session, "error")
        assert (early["code"], early["message"]) == ("nothing_to_rate", "当前没有可评价的服务，或评价时间已过。")
        session.send_json({"type": "message", "text": "科创板怎么开通", "client_msg_id": "m-1"})
        receive_until(session, "ack")
        session.send_json({"type": "feedback", "resolved": True})
        session.send_json({"type": "rate", "score": 4})
        rated, _ = receive_until(session, "rated")
        assert rated == {"type": "rated", "score": 4}
        session.send_json({"type": "rate", "score": 2})
        again, _ = receive_until(session, "error")
        assert (again["code"], again["message"]) == ("already_rated", "您已评价过本次服务，感谢您的反馈。")


def test_suggestions_envelope_lists_chips(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        session.send_json({"type": "message", "text": "我想开户", "client_msg_id": "m-1"})
        chips, _ = receive_until(session, "suggestions")
        assert [item["question"] for item in chips["items"]] == ["如何在手机上开户？", "开户需要准备哪些材料？"]


@pytest.fixture
def busy_service_desk(client: TestClient, app) -> None:
    """svc02 is online with every slot taken: service questions queue."""
    on_app_loop(client, occupy, app.state.container, "svc02")


def test_unresolved_feedback_queues_with_position_and_handoff_notice(
    client: TestClient, token_for, busy_service_desk
) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        session.send_json({"type": "message", "text": "科创板怎么开通", "client_msg_id": "m-1"})
        receive_until(session, "ack")
        session.send_json({"type": "feedback", "resolved": False})
        handoff, _ = receive_until(session, "handoff")
        assert handoff["state"] == "queued" and "在线客服" in handoff["notice"]
        position, _ = receive_until(session, "queue_position")
        assert position["position"] == 1 and position["queue"] == "service"
        assert position["estimated_wait_seconds"] == 38  # one position, 8 busy slots, 300 s default handle time


def test_agent_join_reply_and_typing_reach_the_widget(client: TestClient, token_for, app, busy_service_desk) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, hello, *_):
        session.send_json({"type": "ask_human"})
        receive_until(session, "queue_position")
        routing = app.state.container.routing
        conversation_id = hello["conversation_id"]
        on_app_loop(client, routing.claim, "svc01", conversation_id)
        joined, _ = receive_until(session, "agent_joined")
        assert joined["name"] == "刘洋" and joined["role_label"] == "在线客服"
        on_app_loop(
            client,
            app.state.event_bus.publish,
            Typing(conversation_id, "agent", "刘洋"),
        )
        typing, _ = receive_until(session, "typing")
        assert typing == {"type": "typing", "sender": "agent", "name": "刘洋"}
        on_app_loop(client, routing.staff_reply, "svc01", conversation_id, "您好，我来帮您看一下。")
        reply, _ = receive_until(session, "message")
        while reply["sender"] != "agent":
            reply, _ = receive_until(session, "message")
        assert reply["text"] == "您好，我来帮您看一下。" and reply["served_by"]["staff_id"] == "svc01"
        request, _ = receive_until(session, "feedback_request")
        assert request["seq"] == reply["seq"] and request["tier"] == 2


def test_client_typing_is_published_for_the_console(client: TestClient, token_for, app) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, hello, *_):
        subscription = on_app_loop(client, app.state.event_bus.subscribe)
        session.send_json({"type": "typing"})
        session.send_json({"type": "ping"})
        receive_until(session, "pong")
        event = on_app_loop(client, subscription.next_event, 2.0)
        assert event is not None
        assert to_wire(event) == {
            "type": "typing",
            "conversation_id": hello["conversation_id"],
            "sender": "client",
            "name": None,
        }


def test_resume_replays_only_messages_after_last_seq_without_duplicates(client: TestClient, token_for) -> None:
    token = token_for(ORDINARY)
    with open_session(client, token) as (session, hello, *_):
        session.send_json({"type": "message", "text": "科创板怎么开通", "client_msg_id": "m-1"})
        receive_until(session, "ack")
        session.send_json({"type": "message", "text": "融资融券呢", "client_msg_id": "m-2"})
        receive_until(session, "ack")
    conversation_id = hello["conversation_id"]
    with open_session(client, token, last_seq=2, conversation_id=conversation_id) as (session, hello2, resumed, replay):
        assert hello2["conversation_id"] == conversation_id
        seqs = [e["seq"] for e in replay if e["type"] == "message"]
        assert seqs == [3, 4] and resumed["last_seq"] == 4
    with open_session(client, token, last_seq=0, conversation_id=conversation_id) as (session, _, resumed, replay):
        assert [e["seq"] for e in replay if e["type"] == "message"] == [1, 2, 3, 4]


def test_resent_client_msg_id_is_not_stored_twice(client: TestClient, token_for, app) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, hello, *_):
        session.send_json({"type": "message", "text": "你好", "client_msg_id": "same"})
        first, _ = receive_until(session, "ack")
        session.send_json({"type": "message", "text": "你好", "client_msg_id": "same"})
        second, _ = receive_until(session, "ack")
        assert second["duplicate"] is True and second["seq"] == first["seq"]
        stored = on_app_loop(client, app.state.record.list_messages, hello["conversation_id"])
        assert [m.text for m in stored].count("你好") == 1


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("", "missing token"),
        ("not-a-jwt", "invalid token"),
        ("EXPIRED", "token expired"),
        ("FORGED", "invalid token"),
    ],
)
def test_bad_tokens_are_refused_with_a_reason(client: TestClient, token: str, reason: str) -> None:
    settings = app_settings()
    if token == "EXPIRED":
        token = issue_client_token(settings, ORDINARY, datetime.now(UTC), minutes=-1)
    if token == "FORGED":
        token = issue_client_token(
            app_settings(secret_key="another-secret-of-enough-length-000000"), ORDINARY, datetime.now(UTC)
        )
    with client.websocket_connect(f"/ws/widget?token={token}") as session:
        error = session.receive_json()
        assert error["type"] == "error" and error["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive_json()
    assert closed.value.code == 4401 and closed.value.reason == reason


def test_unknown_client_token_is_refused(client: TestClient, token_for) -> None:
    with client.websocket_connect(f"/ws/widget?token={token_for('C99999')}") as session:
        session.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive_json()
    assert closed.value.code == 4401


def test_another_clients_conversation_is_refused(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (_, hello, *_):
        conversation_id = hello["conversation_id"]
    url = f"/ws/widget?token={token_for(OTHER)}&conversation_id={conversation_id}"
    with client.websocket_connect(url) as session:
        error = session.receive_json()
        assert error["code"] == "forbidden"
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive_json()
    assert closed.value.code == 4403


def test_oversized_frame_closes_with_1009(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        session.send_text(json.dumps({"type": "message", "text": "长" * 20_000}))
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_until(session, "never")
        assert closed.value.code == 1009


def test_too_long_text_within_frame_limit_gets_error(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        session.send_json({"type": "message", "text": "长" * 501, "client_msg_id": "m-1"})
        error, _ = receive_until(session, "error")
        assert error["code"] == "text_too_long" and error["client_msg_id"] == "m-1"


def test_unknown_type_bad_json_and_bad_fields_get_error_envelopes(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        session.send_json({"type": "launch_rockets"})
        assert receive_until(session, "error")[0]["code"] == "unknown_type"
        session.send_text("{not json")
        assert receive_until(session, "error")[0]["code"] == "bad_json"
        session.send_json(["type", "message"])
        assert receive_until(session, "error")[0]["code"] == "bad_envelope"
        session.send_json({"type": "feedback", "resolved": "yes"})
        assert receive_until(session, "error")[0]["code"] == "bad_envelope"
        session.send_json({"type": "message", "text": "   "})
        assert receive_until(session, "error")[0]["code"] == "empty_text"
        session.send_json({"type": "ping"})
        receive_until(session, "pong")  # still connected


def test_binary_frame_closes_with_1003(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        session.send_bytes(b"\x00\x01")
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_until(session, "never")
        assert closed.value.code == 1003


def test_message_rate_is_limited_per_client(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        codes = []
        for number in range(8):
            session.send_json({"type": "message", "text": "你好", "client_msg_id": f"m-{number}"})
            envelope, _ = receive_until(session, "ack") if number < 5 else receive_until(session, "error")
            codes.append(envelope.get("code", "ok"))
        assert codes == ["ok"] * 5 + ["rate_limited"] * 3


def test_frame_flood_is_closed_with_policy_violation(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        for _ in range(200):
            session.send_json({"type": "ping"})
        with pytest.raises(WebSocketDisconnect) as closed:
            receive_until(session, "never", limit=500)
        assert closed.value.code == 1008


def test_bot_outage_keeps_the_message_and_says_so(client: TestClient, token_for, fake_bot: FakeBot) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        fake_bot.unavailable = True
        session.send_json({"type": "message", "text": "科创板怎么开通", "client_msg_id": "m-1"})
        mine, _ = receive_until(session, "message")
        assert mine["text"] == "科创板怎么开通"
        error, _ = receive_until(session, "error")
        assert error["code"] == "bot_unavailable" and error["client_msg_id"] == "m-1"
        ack, _ = receive_until(session, "ack")
        assert ack["seq"] == mine["seq"]


def test_vip_overtakes_ordinary_client_in_the_queue(client: TestClient, token_for, busy_service_desk) -> None:
    with open_session(client, token_for(ORDINARY)) as (ordinary, *_):
        ordinary.send_json({"type": "ask_human"})
        assert receive_until(ordinary, "queue_position")[0]["position"] == 1
        with open_session(client, token_for(VIP)) as (vip, *_rest):
            vip.send_json({"type": "message", "text": "帮我看看", "client_msg_id": "v-1"})
            receive_until(vip, "ack")
            vip.send_json({"type": "ask_human"})
            position, _ = receive_until(vip, "queue_position")
            assert position["position"] == 1
            moved = receive_until(ordinary, "queue_position")[0]
            while moved["position"] != 2:
                moved = receive_until(ordinary, "queue_position")[0]
            assert moved["position"] == 2


def test_closed_conversation_is_announced(client: TestClient, token_for, app) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, hello, *_):
        on_app_loop(client, app.state.container.routing.close, None, hello["conversation_id"])
        closed, _ = receive_until(session, "closed")
        assert "会话已结束" in closed["notice"]
    with open_session(client, token_for(ORDINARY), conversation_id=hello["conversation_id"]) as (session, hello2, *_):
        assert hello2["conversation_id"] != hello["conversation_id"]  # a closed one is not reused


def test_without_tier2_staff_the_client_is_handed_to_the_responder(client: TestClient, token_for) -> None:
    with open_session(client, token_for(ORDINARY)) as (session, *_):
        session.send_json({"type": "ask_human"})
        handoff, _ = receive_until(session, "handoff")
        assert handoff["state"] == "awaiting_responder" and handoff["tier"] == 3
        assert handoff["notice"] == "已为您转交专属响应人赵磊，我们一定会给您答复。"


def test_a_long_conversation_opens_on_its_newest_page_and_pages_back(client: TestClient, token_for, app) -> None:
    with open_session(client, token_for(OTHER)) as (session, hello, _, _):
        conversation_id = hello["conversation_id"]
    record = app.state.container.routing.record
    clock = app.state.container.clock
    for number in range(1, 261):
        on_app_loop(
            client, record.append_message, conversation_id, SenderKind.CLIENT, f"第{number}条", {}, None, clock.now()
        )
    with open_session(client, token_for(OTHER), conversation_id=conversation_id) as (session, _, resumed, replay):
        seqs = [envelope["seq"] for envelope in replay if envelope["type"] == "message"]
        assert (seqs[0], seqs[-1], len(seqs), resumed["has_older"]) == (61, 260, 200, True)
        session.send_json({"type": "older", "before": 61})
        page = receive_until(session, "older")[0]
        assert ([m["seq"] for m in page["messages"]], page["has_older"]) == (list(range(11, 61)), True)
        session.send_json({"type": "older", "before": 11})
        page = receive_until(session, "older")[0]
        assert ([m["seq"] for m in page["messages"]], page["has_older"]) == (list(range(1, 11)), False)
        assert page["messages"][0]["text"] == "第1条"
        session.send_json({"type": "older", "before": 0})
        assert receive_until(session, "error")[0]["code"] == "bad_envelope"
    with open_session(client, token_for(OTHER), last_seq=250, conversation_id=conversation_id) as (_, _, again, replay):
        assert [e["seq"] for e in replay if e["type"] == "message"] == list(range(251, 261))
        assert again["has_older"] is False  # a reconnect resumes after what it showed
