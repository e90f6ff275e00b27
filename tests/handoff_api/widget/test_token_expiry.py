"""A widget session ends with 4401 "token expired" when its token runs out, and resumes with a new token."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from handoff_api.client_tokens import issue_client_token, read_client_token
from tests.handoff_api.widget.support import app_settings
from tests.handoff_api.widget.test_connection import ORDINARY, open_session, receive_until

SHORT = timedelta(seconds=2)


def test_read_client_token_gives_the_expiry() -> None:
    settings = app_settings()
    issued = datetime.now(UTC).replace(microsecond=0)
    identity = read_client_token(settings, issue_client_token(settings, ORDINARY, issued, lifetime=SHORT), issued)
    assert identity.client_id == ORDINARY and identity.expires_at == issued + SHORT


def test_session_closes_with_4401_when_the_token_expires_then_resumes_with_a_new_one(client: TestClient) -> None:
    settings = app_settings()
    started = time.monotonic()
    short_token = issue_client_token(settings, ORDINARY, datetime.now(UTC), lifetime=SHORT)
    with open_session(client, short_token) as (session, hello, *_):
        conversation_id = hello["conversation_id"]
        session.send_json({"type": "message", "text": "科创板怎么开通", "client_msg_id": "m-1"})
        ack, before = receive_until(session, "ack")
        last_seq = max(item["seq"] for item in before if item["type"] == "message")
        expired, _ = receive_until(session, "error")
        assert expired["code"] == "token_expired" and "过期" in expired["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            session.receive_json()
    assert closed.value.code == 4401 and closed.value.reason == "token expired"
    assert time.monotonic() - started < SHORT.total_seconds() + 3

    fresh = issue_client_token(settings, ORDINARY, datetime.now(UTC))
    with open_session(client, fresh, last_seq=last_seq, conversation_id=conversation_id) as (session, hello, _, replay):
        assert hello["conversation_id"] == conversation_id
        assert [item for item in replay if item["type"] == "message"] == []
        session.send_json({"type": "message", "text": "融资融券呢", "client_msg_id": "m-2"})
        mine, _ = receive_until(session, "message")
        assert mine["seq"] == last_seq + 1 and mine["client_msg_id"] == "m-2"
        assert ack["seq"] < mine["seq"]
        receive_until(session, "ack")  # the turn is over before the app stops


def test_a_long_lived_token_keeps_the_session_open(client: TestClient) -> None:
    token = issue_client_token(app_settings(), ORDINARY, datetime.now(UTC), lifetime=timedelta(minutes=5))
    with open_session(client, token) as (session, *_):
        time.sleep(0.5)
        session.send_json({"type": "ping"})
        assert session.receive_json() == {"type": "pong"}
