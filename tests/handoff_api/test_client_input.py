"""Client turns: the bot's button payloads mean the same thing on every channel."""

from __future__ import annotations

from bot.actions.payloads import ASK_HUMAN_PAYLOAD, FEEDBACK_BUTTONS, RESOLVED_PAYLOAD, UNRESOLVED_PAYLOAD
from handoff_api.bot_client import FEEDBACK_TRIGGERS, HUMAN_REQUEST_TRIGGER, rasa_trigger
from handoff_api.client_input import (
    BUTTON_PAYLOADS,
    BUTTON_WORDS,
    HumanRequest,
    Rating,
    Utterance,
    parse_client_text,
)


def test_the_api_knows_every_button_the_bot_sends() -> None:
    assert set(BUTTON_PAYLOADS) == {RESOLVED_PAYLOAD, UNRESOLVED_PAYLOAD, ASK_HUMAN_PAYLOAD}
    assert {button["title"] for button in FEEDBACK_BUTTONS} <= BUTTON_WORDS


def test_button_payloads_become_clicks_and_other_text_stays_text() -> None:
    assert parse_client_text(RESOLVED_PAYLOAD) == Rating(True)
    assert parse_client_text(UNRESOLVED_PAYLOAD) == Rating(False)
    assert parse_client_text(ASK_HUMAN_PAYLOAD) == HumanRequest()
    assert parse_client_text("/feedback_resolved 谢谢") == Utterance("/feedback_resolved 谢谢")


def test_rasa_receives_the_intent_a_click_stands_for() -> None:
    assert rasa_trigger(Rating(True)) == FEEDBACK_TRIGGERS[True] == RESOLVED_PAYLOAD
    assert rasa_trigger(Rating(False)) == UNRESOLVED_PAYLOAD
    assert rasa_trigger(HumanRequest()) == HUMAN_REQUEST_TRIGGER == ASK_HUMAN_PAYLOAD
    assert rasa_trigger(Utterance("科创板门槛")) == "科创板门槛"
    assert Rating(False).words == "问题未解答" and HumanRequest().words == "转人工"
