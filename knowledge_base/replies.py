"""Reply payloads of the robot advisor (pure builders of the json_message contract).

Every reply is one custom payload with a ``type`` and a Chinese ``text`` for the client; the API
reads the payload and routes escalations. The bot's actions build them, and so does the API's own
tier 1 when Rasa cannot be reached, so that both answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from knowledge_base.models import Band, FollowUpQueue, Hit, Retrieval

Payload = dict[str, Any]

SUGGESTION_LIMIT = 3
SCORE_DIGITS = 4

RESOLVED_PAYLOAD = "/feedback_resolved"
UNRESOLVED_PAYLOAD = "/feedback_unresolved"
ASK_HUMAN_PAYLOAD = "/ask_human"

FEEDBACK_BUTTONS: tuple[dict[str, str], ...] = (
    {"title": "问题已解答", "payload": RESOLVED_PAYLOAD},
    {"title": "问题未解答", "payload": UNRESOLVED_PAYLOAD},
)
ASK_HUMAN_BUTTON: dict[str, str] = {"title": "转人工", "payload": ASK_HUMAN_PAYLOAD}

SUGGESTIONS_TEXT = "您是不是想问："
RESOLVED_TEXT = "很高兴能帮到您！如果还有其他问题，欢迎随时问我。"


class EscalationReason(StrEnum):
    """Why tier 1 hands a question to a person."""

    LOW_SCORE = "low_score"
    CLIENT_UNRESOLVED = "client_unresolved"
    ASKED_HUMAN = "asked_human"
    ADVICE_REQUEST = "advice_request"
    KB_UNAVAILABLE = "kb_unavailable"


_QUEUE_NAMES: dict[FollowUpQueue | None, str] = {
    FollowUpQueue.ADVISOR: "在线投顾",
    FollowUpQueue.SERVICE: "在线客服",
    None: "人工服务",
}

_ESCALATION_TEXTS: dict[EscalationReason, str] = {
    EscalationReason.LOW_SCORE: "抱歉，这个问题我暂时无法准确回答，正在为您转接{target}，请稍候。",
    EscalationReason.CLIENT_UNRESOLVED: "很抱歉没能解决您的问题，正在为您转接{target}，请稍候。",
    EscalationReason.ASKED_HUMAN: "好的，正在为您转接{target}，请稍候。",
    EscalationReason.ADVICE_REQUEST: (
        "根据监管要求，智能投顾机器人不能提供具体个股买卖建议或个性化投资建议，"
        "正在为您转接持牌投资顾问，请稍候。投资有风险，入市需谨慎。"
    ),
    EscalationReason.KB_UNAVAILABLE: "抱歉，智能问答暂时无法使用，正在为您转接{target}，请稍候。",
}


def parse_queue(value: object) -> FollowUpQueue | None:
    """The follow-up queue named by ``value`` (e.g. a slot value); None if unset or unknown."""
    if isinstance(value, FollowUpQueue):
        return value
    if isinstance(value, str):
        try:
            return FollowUpQueue(value)
        except ValueError:
            return None
    return None


def rounded_score(score: float | None) -> float | None:
    """A score rounded for the payload (None stays None)."""
    return None if score is None else round(float(score), SCORE_DIGITS)


def escalation_text(reason: EscalationReason, queue_hint: FollowUpQueue | None) -> str:
    """The notice telling the client who they are being handed to."""
    return _ESCALATION_TEXTS[reason].format(target=_QUEUE_NAMES[queue_hint])


def answer_payload(hit: Hit) -> Payload:
    """A knowledge-base answer with the resolved / unresolved buttons."""
    entry = hit.entry
    return {
        "type": "answer",
        "text": entry.answer,
        "faq_id": entry.id,
        "question": entry.question,
        "category": entry.category.value,
        "queue": entry.queue.value,
        "score": rounded_score(hit.score),
        "band": Band.ANSWER.value,
        "buttons": [dict(button) for button in FEEDBACK_BUTTONS],
    }


def suggestions_payload(hits: Sequence[Hit], limit: int = SUGGESTION_LIMIT) -> Payload:
    """Suggestion chips ("did you mean") for the best ``limit`` entries, plus a button to ask for a person."""
    if not hits:
        raise ValueError("suggestions need at least one hit")
    shown = hits[:limit]
    return {
        "type": "suggestions",
        "text": SUGGESTIONS_TEXT,
        "band": Band.SUGGEST.value,
        "score": rounded_score(shown[0].score),
        "suggestions": [
            {"faq_id": hit.entry.id, "question": hit.entry.question, "score": rounded_score(hit.score)} for hit in shown
        ],
        "buttons": [dict(ASK_HUMAN_BUTTON)],
    }


def escalate_payload(
    reason: EscalationReason,
    *,
    question: str | None,
    queue_hint: FollowUpQueue | None,
    faq_id: str | None = None,
    score: float | None = None,
) -> Payload:
    """A hand-over to a person, with the reason and the queue the API should consider."""
    return {
        "type": "escalate",
        "text": escalation_text(reason, queue_hint),
        "reason": reason.value,
        "queue_hint": queue_hint.value if queue_hint is not None else None,
        "question": question or None,
        "faq_id": faq_id or None,
        "score": rounded_score(score),
    }


def feedback_payload(faq_id: str | None) -> Payload:
    """The acknowledgement of a client who says the answer resolved the question."""
    return {"type": "feedback", "resolved": True, "text": RESOLVED_TEXT, "faq_id": faq_id or None}


def retrieval_payload(retrieval: Retrieval) -> Payload:
    """The reply for a retrieval: answer, suggestions or a low-score escalation, by band."""
    top = retrieval.top
    if retrieval.band is Band.ANSWER and top is not None:
        return answer_payload(top)
    if retrieval.band is Band.SUGGEST and top is not None:
        return suggestions_payload(retrieval.hits)
    return escalate_payload(
        EscalationReason.LOW_SCORE,
        question=retrieval.query,
        queue_hint=retrieval.queue_hint,
        score=top.score if top is not None else None,
    )
