"""Client text translation: words stand in for buttons, numbers pick suggestions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff_api.wecom.client_text import (
    ASK_HUMAN,
    FEEDBACK_RESOLVED,
    FEEDBACK_UNRESOLVED,
    is_number_reply,
    last_suggestions,
    translate_client_text,
)
from routing.models import Message
from routing.models import SenderKind as MessageSender
from tests.handoff_api.wecom.stack import SUGGESTED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("解决了", FEEDBACK_RESOLVED),
        (" 已解决。", FEEDBACK_RESOLVED),
        ("“解决了”", FEEDBACK_RESOLVED),
        ("没解决！", FEEDBACK_UNRESOLVED),
        ("未解决", FEEDBACK_UNRESOLVED),
        ("问题未解答", FEEDBACK_UNRESOLVED),
        ("转人工", ASK_HUMAN),
        ("两融怎么开通？", "两融怎么开通？"),
        ("  科创板门槛  ", "科创板门槛"),
        ("我的问题没解决，怎么办", "我的问题没解决，怎么办"),
    ],
)
def test_words_become_button_payloads(text: str, expected: str) -> None:
    assert translate_client_text(text) == expected


def test_a_number_picks_a_suggestion_only_within_range() -> None:
    assert translate_client_text("2", SUGGESTED) == SUGGESTED[1]
    assert translate_client_text(" 3。", SUGGESTED) == SUGGESTED[2]
    assert translate_client_text("4", SUGGESTED) == "4"
    assert translate_client_text("0", SUGGESTED) == "0"
    assert translate_client_text("2", []) == "2"


def _message(seq: int, sender: MessageSender, payload: dict[str, object]) -> Message:
    return Message(f"m{seq}", "c", seq, sender, "t", datetime.now(UTC), payload)


def test_last_suggestions_are_those_of_the_latest_bot_turn() -> None:
    offered: dict[str, object] = {"type": "suggestions", "suggestions": [{"question": q} for q in SUGGESTED]}
    assert last_suggestions([_message(1, MessageSender.BOT, offered)]) == SUGGESTED
    assert (
        last_suggestions(
            [_message(1, MessageSender.BOT, offered), _message(2, MessageSender.SYSTEM, {"type": "queued"})]
        )
        == SUGGESTED
    )
    answered = [_message(1, MessageSender.BOT, offered), _message(2, MessageSender.CLIENT, {})]
    assert last_suggestions(answered) == []
    assert last_suggestions([_message(1, MessageSender.BOT, {"type": "answer"})]) == []


def test_a_number_reply_may_be_quoted_or_punctuated() -> None:
    assert is_number_reply("2") and is_number_reply(" “3”。") and not is_number_reply("2 号问题")
