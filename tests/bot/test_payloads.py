from __future__ import annotations

import json

import pytest

from bot.actions.payloads import (
    ASK_HUMAN_PAYLOAD,
    RESOLVED_PAYLOAD,
    UNRESOLVED_PAYLOAD,
    EscalationReason,
    answer_payload,
    escalate_payload,
    escalation_text,
    feedback_payload,
    parse_queue,
    retrieval_payload,
    rounded_score,
    suggestions_payload,
)
from knowledge_base.models import Band, FollowUpQueue
from routing.models import EscalationReason as RoutingReason
from tests.bot.conftest import make_entry, make_hit, make_retrieval


def test_answer_payload_carries_the_entry_and_feedback_buttons(kcb_entry):
    payload = answer_payload(make_hit(kcb_entry, 0.931234567))

    assert payload == {
        "type": "answer",
        "text": kcb_entry.answer,
        "faq_id": "bg-kcb-threshold",
        "question": kcb_entry.question,
        "category": "business_guide",
        "queue": "service",
        "score": 0.9312,
        "band": "answer",
        "buttons": [
            {"title": "问题已解答", "payload": RESOLVED_PAYLOAD},
            {"title": "问题未解答", "payload": UNRESOLVED_PAYLOAD},
        ],
    }


def test_payloads_are_json_serialisable(kcb_entry):
    hit = make_hit(kcb_entry)
    for payload in (
        answer_payload(hit),
        suggestions_payload([hit]),
        escalate_payload(EscalationReason.LOW_SCORE, question="q", queue_hint=FollowUpQueue.ADVISOR),
        feedback_payload("bg-kcb-threshold"),
    ):
        assert json.loads(json.dumps(payload, ensure_ascii=False)) == payload


def test_answer_buttons_are_fresh_copies(kcb_entry):
    first = answer_payload(make_hit(kcb_entry))
    first["buttons"][0]["title"] = "changed"
    assert answer_payload(make_hit(kcb_entry))["buttons"][0]["title"] == "问题已解答"


def test_suggestions_payload_lists_at_most_three_entries():
    hits = [make_hit(make_entry(f"e{i}", question=f"问题{i}？"), 0.9 - i / 100) for i in range(5)]

    payload = suggestions_payload(hits)

    assert payload["type"] == "suggestions"
    assert payload["text"] == "您是不是想问："
    assert payload["band"] == "suggest"
    assert payload["score"] == 0.9
    assert payload["suggestions"] == [
        {"faq_id": "e0", "question": "问题0？", "score": 0.9},
        {"faq_id": "e1", "question": "问题1？", "score": 0.89},
        {"faq_id": "e2", "question": "问题2？", "score": 0.88},
    ]
    assert payload["buttons"] == [{"title": "转人工", "payload": ASK_HUMAN_PAYLOAD}]


def test_suggestions_need_a_hit():
    with pytest.raises(ValueError, match="at least one hit"):
        suggestions_payload([])


def test_escalate_payload_shape():
    payload = escalate_payload(
        EscalationReason.CLIENT_UNRESOLVED,
        question="科创板怎么开",
        queue_hint=FollowUpQueue.SERVICE,
        faq_id="bg-kcb-threshold",
        score=0.912345,
    )

    assert payload == {
        "type": "escalate",
        "text": "很抱歉没能解决您的问题，正在为您转接在线客服，请稍候。",
        "reason": "client_unresolved",
        "queue_hint": "service",
        "question": "科创板怎么开",
        "faq_id": "bg-kcb-threshold",
        "score": 0.9123,
    }


def test_escalate_payload_with_nothing_known_uses_nulls():
    payload = escalate_payload(EscalationReason.ASKED_HUMAN, question="", queue_hint=None, faq_id="")

    assert payload["queue_hint"] is None
    assert payload["question"] is None
    assert payload["faq_id"] is None
    assert payload["score"] is None
    assert payload["text"] == "好的，正在为您转接人工服务，请稍候。"


@pytest.mark.parametrize(
    ("queue", "target"),
    [(FollowUpQueue.ADVISOR, "在线投顾"), (FollowUpQueue.SERVICE, "在线客服"), (None, "人工服务")],
)
def test_escalation_text_names_the_target(queue, target):
    assert target in escalation_text(EscalationReason.LOW_SCORE, queue)


def test_every_reason_has_a_chinese_notice():
    for reason in EscalationReason:
        text = escalation_text(reason, FollowUpQueue.SERVICE)
        assert text
        assert "{" not in text


def test_advice_notice_cites_the_rules_and_a_licensed_advisor():
    text = escalation_text(EscalationReason.ADVICE_REQUEST, FollowUpQueue.ADVISOR)
    assert "监管要求" in text
    assert "持牌投资顾问" in text


def test_feedback_payload():
    assert feedback_payload("bg-kcb-threshold") == {
        "type": "feedback",
        "resolved": True,
        "text": "很高兴能帮到您！如果还有其他问题，欢迎随时问我。",
        "faq_id": "bg-kcb-threshold",
    }
    assert feedback_payload(None)["faq_id"] is None


def test_retrieval_payload_answer_band(kcb_entry):
    payload = retrieval_payload(make_retrieval("科创板怎么开", Band.ANSWER, [make_hit(kcb_entry)]))
    assert payload["type"] == "answer"
    assert payload["faq_id"] == kcb_entry.id


def test_retrieval_payload_suggest_band(kcb_entry, advisor_entry):
    hits = [make_hit(kcb_entry, 0.9), make_hit(advisor_entry, 0.89)]
    payload = retrieval_payload(make_retrieval("开户", Band.SUGGEST, hits))
    assert payload["type"] == "suggestions"
    assert [s["faq_id"] for s in payload["suggestions"]] == [kcb_entry.id, advisor_entry.id]


def test_retrieval_payload_escalate_band_keeps_query_queue_and_score(advisor_entry):
    retrieval = make_retrieval("今天天气怎么样", Band.ESCALATE, [make_hit(advisor_entry, 0.81)])

    payload = retrieval_payload(retrieval)

    assert payload["type"] == "escalate"
    assert payload["reason"] == "low_score"
    assert payload["question"] == "今天天气怎么样"
    assert payload["queue_hint"] == "advisor"
    assert payload["score"] == 0.81
    assert payload["faq_id"] is None


@pytest.mark.parametrize("band", [Band.ANSWER, Band.SUGGEST, Band.ESCALATE])
def test_retrieval_without_hits_escalates(band):
    payload = retrieval_payload(make_retrieval("随便问问", band))
    assert payload["type"] == "escalate"
    assert payload["reason"] == "low_score"
    assert payload["queue_hint"] is None
    assert payload["score"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("advisor", FollowUpQueue.ADVISOR),
        ("service", FollowUpQueue.SERVICE),
        (FollowUpQueue.SERVICE, FollowUpQueue.SERVICE),
        ("vip", None),
        ("", None),
        (None, None),
        (3, None),
    ],
)
def test_parse_queue(value, expected):
    assert parse_queue(value) is expected


def test_rounded_score():
    assert rounded_score(None) is None
    assert rounded_score(0.123456) == 0.1235


def test_the_bot_escalates_only_for_reasons_routing_knows() -> None:
    assert {reason.value for reason in EscalationReason} <= {reason.value for reason in RoutingReason}
