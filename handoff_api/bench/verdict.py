"""Whether one turn's answer counts: a bot payload, not an HTTP error, a fallback or a hand-over (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

BOT_TYPES = frozenset({"answer", "suggestions", "text", "feedback"})
"""Payload types the bot answers with while it keeps the conversation."""


def judge_payloads(payloads: Sequence[Mapping[str, Any]]) -> str | None:
    """None when the bot answered, else why the turn is an error."""
    if not payloads:
        return "no bot reply"
    if any(payload.get("degraded") for payload in payloads):
        return "degraded (Rasa too slow or down: local tier 1 answered)"
    kinds = [payload.get("type") for payload in payloads]
    if "escalate" in kinds:
        return "escalated"
    if any(kind not in BOT_TYPES for kind in kinds):
        return "not a bot payload"
    return None


def judge_rest(status: int, body: Any) -> str | None:
    """A REST turn: 200 with at least one bot reply carrying a bot payload."""
    if status != 200:
        return f"HTTP {status}"
    if not isinstance(body, Mapping) or not isinstance(body.get("replies"), list):
        return "not a bot payload"
    replies = [r for r in body["replies"] if isinstance(r, Mapping) and r.get("sender") == "bot"]
    return judge_payloads([r["payload"] if isinstance(r.get("payload"), Mapping) else {} for r in replies])


def judge_widget(frames: Sequence[Mapping[str, Any]], client_msg_id: str) -> str | None:
    """A widget turn: its ack arrived, after at least one bot message with a bot payload, and no error."""
    for frame in frames:
        if frame.get("type") == "error":
            return f"widget error {frame.get('code')}"
    if not any(f.get("type") == "ack" and f.get("client_msg_id") == client_msg_id for f in frames):
        return "no ack"
    bot = [f for f in frames if f.get("type") == "message" and f.get("sender") == "bot"]
    return judge_payloads([f["payload"] if isinstance(f.get("payload"), Mapping) else {} for f in bot])


def judge_rasa(status: int, body: Any) -> str | None:
    """A floor turn on Rasa's REST channel: 200 and at least one reply."""
    if status != 200:
        return f"Rasa HTTP {status}"
    if not isinstance(body, list) or not any(
        isinstance(r, Mapping) and (r.get("text") or r.get("custom")) for r in body
    ):
        return "Rasa sent no reply"
    return None
