"""The widget's client → server frames, parsed into typed values (pure: no I/O).

A frame that cannot be understood becomes a `BadFrame` naming the error code the client is sent
(bad_json, bad_envelope, unknown_type) and counts as a protocol violation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from handoff_api.inputs import MAX_SEQ, is_valid_unicode
from handoff_api.widget.envelopes import CLIENT_TYPES

MAX_CLIENT_MSG_ID = 64
MAX_ECHOED_TYPE = 40


@dataclass(frozen=True)
class Ping:
    """Keep-alive: answered with pong."""


@dataclass(frozen=True)
class Resume:
    """Send every message after `last_seq`, then live updates."""

    last_seq: int


@dataclass(frozen=True)
class LoadOlder:
    """Send the page of messages before `before` (the first seq the widget shows)."""

    before: int


@dataclass(frozen=True)
class ClientTyping:
    """The client is typing (shown in the console)."""


@dataclass(frozen=True)
class SendText:
    """A message the client typed or a button it clicked; `client_msg_id` makes a resend idempotent."""

    text: str
    client_msg_id: str | None = None


@dataclass(frozen=True)
class GiveFeedback:
    """问题已解答 (True) / 问题未解答 (False)."""

    resolved: bool


@dataclass(frozen=True)
class GiveRating:
    """The client's 1–5 stars for the question just resolved."""

    score: int


@dataclass(frozen=True)
class AskHuman:
    """The client asks for a person (转人工)."""


@dataclass(frozen=True)
class BadFrame:
    """A frame the protocol does not allow: the error code and the fields the error envelope carries."""

    code: str
    extra: dict[str, Any] = field(default_factory=dict)


ClientFrame = Ping | Resume | LoadOlder | ClientTyping | SendText | GiveFeedback | GiveRating | AskHuman
"""Any well-formed client frame."""


def parse_frame(text: str) -> ClientFrame | BadFrame:
    """The frame a text carries, or what is wrong with it."""
    try:
        frame = json.loads(text)
    except ValueError:
        return BadFrame("bad_json")
    if not is_valid_unicode(frame):
        return BadFrame("bad_json")
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        return BadFrame("bad_envelope")
    kind: str = frame["type"]
    if kind not in CLIENT_TYPES:
        return BadFrame("unknown_type", {"received": kind[:MAX_ECHOED_TYPE]})
    return _PARSERS.get(kind, _simple)(frame)


def _simple(frame: dict[str, Any]) -> ClientFrame:
    """The frames without fields."""
    kind = frame["type"]
    if kind == "typing":
        return ClientTyping()
    return AskHuman() if kind == "ask_human" else Ping()


def _feedback(frame: dict[str, Any]) -> GiveFeedback | BadFrame:
    resolved = frame.get("resolved")
    if not isinstance(resolved, bool):
        return BadFrame("bad_envelope", {"detail": "resolved must be true or false"})
    return GiveFeedback(resolved)


def _rating(frame: dict[str, Any]) -> GiveRating | BadFrame:
    score = frame.get("score")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        return BadFrame("bad_envelope", {"detail": "score must be a whole number from 1 to 5"})
    return GiveRating(score)


def _older(frame: dict[str, Any]) -> LoadOlder | BadFrame:
    before = frame.get("before")
    if not isinstance(before, int) or isinstance(before, bool) or not 1 <= before <= MAX_SEQ:
        return BadFrame("bad_envelope", {"detail": f"before must be an integer from 1 to {MAX_SEQ}"})
    return LoadOlder(before)


def _resume(frame: dict[str, Any]) -> Resume | BadFrame:
    last_seq = frame.get("last_seq", 0)
    if not isinstance(last_seq, int) or isinstance(last_seq, bool) or not 0 <= last_seq <= MAX_SEQ:
        return BadFrame("bad_envelope", {"detail": f"last_seq must be an integer from 0 to {MAX_SEQ}"})
    return Resume(last_seq)


def _text(frame: dict[str, Any]) -> SendText | BadFrame:
    value = frame.get("client_msg_id")
    client_msg_id = value if isinstance(value, str) and 0 < len(value) <= MAX_CLIENT_MSG_ID else None
    text = frame.get("text")
    if not isinstance(text, str):
        return BadFrame("bad_envelope", {"client_msg_id": client_msg_id, "detail": "text must be a string"})
    return SendText(text, client_msg_id)


_PARSERS: dict[str, Callable[[dict[str, Any]], ClientFrame | BadFrame]] = {
    "resume": _resume,
    "older": _older,
    "message": _text,
    "feedback": _feedback,
    "rate": _rating,
}
