"""What a WeCom client's text means: WeCom has no buttons, so words and numbers stand in for them.

解决了/没解决/转人工 (and their variants) become the payloads of the widget's buttons; a bare number
picks one of the questions the bot suggested last.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from routing.models import Message
from routing.models import SenderKind as MessageSender

FEEDBACK_RESOLVED = "/feedback_resolved"
FEEDBACK_UNRESOLVED = "/feedback_unresolved"
ASK_HUMAN = "/ask_human"
_WORD_PAYLOADS = {
    "解决了": FEEDBACK_RESOLVED,
    "已解决": FEEDBACK_RESOLVED,
    "问题已解答": FEEDBACK_RESOLVED,
    "已解答": FEEDBACK_RESOLVED,
    "没解决": FEEDBACK_UNRESOLVED,
    "未解决": FEEDBACK_UNRESOLVED,
    "没有解决": FEEDBACK_UNRESOLVED,
    "问题未解答": FEEDBACK_UNRESOLVED,
    "未解答": FEEDBACK_UNRESOLVED,
    "转人工": ASK_HUMAN,
    "人工": ASK_HUMAN,
    "人工服务": ASK_HUMAN,
}
_TRIM = re.compile(r"^[\s\"'“”‘’「」【】]+|[\s\"'“”‘’「」【】。！!？?.,，~～]+$")


def _bare_word(text: str) -> str:
    return _TRIM.sub("", text.strip())


def is_number_reply(text: str) -> bool:
    """True if the text is a bare number (possibly quoted or punctuated), i.e. may pick a suggestion."""
    return _bare_word(text).isdigit()


def last_suggestions(messages: Sequence[Message]) -> list[str]:
    """The questions of the bot's latest suggestion list, if nothing but system notes followed it."""
    for message in reversed(messages):
        if message.sender == MessageSender.SYSTEM:
            continue
        if message.sender != MessageSender.BOT or message.payload.get("type") != "suggestions":
            return []
        items = message.payload.get("suggestions")
        if not isinstance(items, list):
            return []
        return [str(item["question"]) for item in items if isinstance(item, dict) and item.get("question")]
    return []


def translate_client_text(text: str, suggestions: Sequence[str] = ()) -> str:
    """WeCom has no buttons: 解决了/没解决/转人工 become the button payloads, a number picks a suggestion."""
    stripped = text.strip()
    word = _bare_word(stripped)
    if word in _WORD_PAYLOADS:
        return _WORD_PAYLOADS[word]
    if word.isdigit() and suggestions:
        index = int(word)
        if 1 <= index <= len(suggestions):
            return suggestions[index - 1]
    return stripped


RATING_PROMPT = "请为本次服务评分：回复数字 1–5（1 非常不满意，5 非常满意）。"
RATING_THANKS = "感谢您的评价！"
RATING_HINT = "评分请回复 1–5 之间的一个数字。"
ALREADY_RATED = "您已评价过本次服务，感谢您的反馈。"


def rating_score(text: str) -> int | None:
    """The number a bare-number reply carries (any size: the caller checks the 1–5 range), or None."""
    word = _bare_word(text)
    return int(word) if word.isdigit() and len(word) <= 3 else None


def asks_for_rating(message: Message) -> bool:
    """The bot's thanks for a 问题已解答: WeCom sends the rating prompt with it."""
    return (
        message.sender == MessageSender.BOT
        and message.payload.get("type") == "feedback"
        and message.payload.get("resolved") is True
    )
