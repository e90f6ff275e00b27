"""What counts as a bot answer on each path."""

from __future__ import annotations

from typing import Any

from handoff_api.bench.verdict import judge_rasa, judge_rest, judge_widget

ANSWER = {"type": "answer", "faq_id": "bg-kcb-threshold", "text": "…"}


def rest_body(*payloads: dict[str, Any], sender: str = "bot") -> dict[str, Any]:
    return {"replies": [{"sender": sender, "payload": payload} for payload in payloads]}


def test_rest_answer_counts() -> None:
    assert judge_rest(200, rest_body(ANSWER)) is None
    assert judge_rest(200, rest_body({"type": "text", "text": "您好"})) is None


def test_rest_failures_are_named() -> None:
    assert judge_rest(503, None) == "HTTP 503"
    assert judge_rest(200, {"replies": []}) == "no bot reply"
    assert judge_rest(200, rest_body(ANSWER, sender="agent")) == "no bot reply"
    assert judge_rest(200, rest_body({"type": "escalate", "reason": "low_score"})) == "escalated"
    assert judge_rest(200, rest_body({"type": "weird"})) == "not a bot payload"
    assert judge_rest(200, ["not", "a", "mapping"]) == "not a bot payload"
    degraded = judge_rest(200, rest_body({"type": "text", "text": "…", "degraded": True}, ANSWER))
    assert degraded is not None and degraded.startswith("degraded")


def test_widget_turn_needs_its_ack_after_a_bot_message() -> None:
    message = {"type": "message", "sender": "bot", "payload": ANSWER}
    client = {"type": "message", "sender": "client", "payload": {}}
    assert judge_widget([client, message, {"type": "ack", "client_msg_id": "m1"}], "m1") is None
    assert judge_widget([client, message], "m1") == "no ack"
    assert judge_widget([client, message, {"type": "ack", "client_msg_id": "m0"}], "m1") == "no ack"
    assert judge_widget([client, {"type": "ack", "client_msg_id": "m1"}], "m1") == "no bot reply"
    assert judge_widget([{"type": "error", "code": "rate_limited"}], "m1") == "widget error rate_limited"


def test_rasa_floor_turn_needs_a_reply() -> None:
    assert judge_rasa(200, [{"recipient_id": "x", "text": "您好"}]) is None
    assert judge_rasa(200, [{"recipient_id": "x", "custom": {"type": "text"}}]) is None
    assert judge_rasa(200, []) == "Rasa sent no reply"
    assert judge_rasa(500, None) == "Rasa HTTP 500"
