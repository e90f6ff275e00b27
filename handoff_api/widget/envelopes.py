"""The widget protocol's JSON envelopes (server → client), built from routing records.

Every envelope is a dict with a `type`. Messages carry their `seq`; envelopes derived from a message
(suggestions, feedback_request) carry the same `seq`, so a client that sees a message twice (after a
reconnect) can drop the repeat by seq.
"""

from __future__ import annotations

from typing import Any

from routing.models import ConversationState, Message, QueueName, SenderKind

Envelope = dict[str, Any]

HUMAN_SENDERS = frozenset({SenderKind.AGENT, SenderKind.RESPONDER})
QUEUE_LABELS = {QueueName.ADVISOR.value: "在线投顾", QueueName.SERVICE.value: "在线客服"}
ROLE_LABELS = {
    "advisor": "在线投顾",
    "service": "在线客服",
    "responder": "专属响应人",
    "duty_manager": "值班经理",
    "admin": "工作人员",
}

CLIENT_TYPES = frozenset({"message", "typing", "feedback", "rate", "ask_human", "resume", "older", "ping"})
"""Envelope types a widget may send."""

ERROR_TEXTS = {
    "bad_json": "消息格式有误。",
    "bad_envelope": "消息内容不完整或格式有误。",
    "unknown_type": "不支持的消息类型。",
    "empty_text": "消息不能为空。",
    "text_too_long": "消息过长，请精简后再发送。",
    "rate_limited": "发送太频繁，请稍后再试。",
    "bot_unavailable": "智能助手暂时无法回答，您的消息已保存，请稍后再试或点击“转人工”。",
    "not_allowed": "当前状态下无法执行该操作。",
    "internal": "系统繁忙，请稍后再试。",
    "not_resumed": "会话尚未就绪，请稍候。",
    "token_expired": "身份凭证已过期，正在重新验证…",
    "already_rated": "您已评价过本次服务，感谢您的反馈。",
    "nothing_to_rate": "当前没有可评价的服务，或评价时间已过。",
}


def error(code: str, message: str | None = None, **extra: Any) -> Envelope:
    """An error envelope with a Chinese message for the client."""
    return {"type": "error", "code": code, "message": message or ERROR_TEXTS.get(code, "请求有误。"), **extra}


def message(item: Message, client_msg_id: str | None = None) -> Envelope:
    """A transcript message."""
    served = item.served_by
    envelope: Envelope = {
        "type": "message",
        "seq": item.seq,
        "id": item.id,
        "sender": item.sender.value,
        "text": item.text,
        "payload": dict(item.payload),
        "created_at": item.created_at.isoformat(),
        "served_by": {"tier": int(served.tier), "staff_id": served.staff_id, "at": served.at.isoformat()}
        if served
        else None,
    }
    if client_msg_id:
        envelope["client_msg_id"] = client_msg_id
    return envelope


def derived(item: Message) -> list[Envelope]:
    """Envelopes a message implies: suggestion chips, or a 问题已解答/问题未解答 request."""
    payload = item.payload
    kind = payload.get("type")
    if item.sender == SenderKind.BOT and kind == "suggestions":
        return [{"type": "suggestions", "seq": item.seq, "items": _suggestions(payload.get("suggestions"))}]
    if item.sender == SenderKind.BOT and kind == "answer":
        return [{"type": "feedback_request", "seq": item.seq, "tier": 1, "faq_id": payload.get("faq_id")}]
    if item.sender in HUMAN_SENDERS:
        tier = int(item.served_by.tier) if item.served_by else (3 if item.sender == SenderKind.RESPONDER else 2)
        return [{"type": "feedback_request", "seq": item.seq, "tier": tier}]
    return []


def _suggestions(raw: object) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    items: list[dict[str, Any]] = []
    for entry in raw:
        if isinstance(entry, dict) and isinstance(entry.get("question"), str):
            items.append({"faq_id": entry.get("faq_id"), "question": entry["question"]})
    return items


def queue_position(queue: str | None, position: int | None, wait_seconds: float | None) -> Envelope:
    """Where the client waits and roughly how long (None when nobody is online to estimate)."""
    return {
        "type": "queue_position",
        "queue": queue,
        "queue_label": QUEUE_LABELS.get(queue or "", "人工服务"),
        "position": position,
        "estimated_wait_seconds": None if wait_seconds is None else round(wait_seconds),
    }


def agent_joined(name: str, role: str | None, practice_number: str | None, tier: int) -> Envelope:
    """Who now serves the client (advisors show their practice number)."""
    return {
        "type": "agent_joined",
        "name": name,
        "role": role,
        "role_label": ROLE_LABELS.get(role or "", "工作人员"),
        "practice_number": practice_number,
        "tier": tier,
    }


def handoff(state: str, queue: str | None, tier: int, serving_name: str | None = None) -> Envelope:
    """A clear notice that the conversation changed hands."""
    return {
        "type": "handoff",
        "state": state,
        "queue": queue,
        "tier": tier,
        "notice": handoff_notice(state, queue, serving_name),
    }


def handoff_notice(state: str, queue: str | None, serving_name: str | None) -> str:
    """The Chinese notice for a hand-over into `state`."""
    if state == ConversationState.QUEUED.value:
        return f"正在为您转接{QUEUE_LABELS.get(queue or '', '人工服务')}，请稍候。"
    if state == ConversationState.AWAITING_RESPONDER.value:
        who = f"专属响应人{serving_name}" if serving_name else "您的专属响应人"
        return f"已为您转交{who}，我们一定会给您答复。"
    if state == ConversationState.WITH_RESPONDER.value:
        return f"专属响应人{serving_name or ''}正在为您服务。"
    if state == ConversationState.WITH_AGENT.value:
        return f"{serving_name or '工作人员'}正在为您服务。"
    if state == ConversationState.BOT.value:
        return "智能助手继续为您服务，有新问题请直接提问。"
    return "会话状态已更新。"


def typing(sender: str, name: str | None) -> Envelope:
    """Someone serving the client is typing."""
    return {"type": "typing", "sender": sender, "name": name}


def closed(reason: str = "closed") -> Envelope:
    """The conversation is over."""
    return {"type": "closed", "reason": reason, "notice": "本次会话已结束，感谢您的咨询。"}
