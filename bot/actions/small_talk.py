"""action_small_talk: greetings, thanks and goodbyes, unless the message also carries a question.

NLU gives 「你好，科创板怎么开通」 the greet intent and 「我的手机号13812345678……」 the thanks intent;
neither may be answered with a pleasantry. What is left after the pleasantry words, the filler and
any personal numbers decides: a question goes to the knowledge base; personal numbers get a
privacy reminder (and are never looked up or logged).
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions.answer_faq import PRIVACY_TEXT, answer_question
from bot.actions.conversation import Event, latest_intent, latest_text
from bot.actions.deps import RetrieverProvider, resolve
from knowledge_base.personal_data import has_personal_data, remove_personal_data

RESPONSES = {"greet": "utter_greet", "thanks": "utter_thanks", "goodbye": "utter_goodbye"}
ASK_WHAT_TEXT = "请问您想咨询什么问题？请直接描述您的问题，我来为您解答。"
MIN_QUESTION_CHARS = 3

_PLEASANTRIES = re.compile(
    r"你们?好[呀啊吗]?|您好|哈喽|hello|hi|嗨|早上好|下午好|晚上好|在吗|在不在|有人吗|有人在吗|请问|"
    r"谢谢[你您]?[啦了]?|多谢[了啦]?|感谢[你您]?|非常感谢|太感谢了|谢啦|谢了|thx|thanks?|"
    r"再见|拜拜|拜|bye|88|好的|好吧|好|嗯+|哦+|噢|行|ok|没别的事了|先这样吧?|我先下了|回头再聊|下次再问",
    re.IGNORECASE,
)
_NOISE = re.compile(r"[\s\W_]+")


def leftover(text: str) -> str:
    """What the message says besides pleasantries, filler, punctuation and personal numbers."""
    return _NOISE.sub("", _PLEASANTRIES.sub("", remove_personal_data(text)))


def carries_question(text: str) -> bool:
    """Whether the message asks something besides its greeting, thanks or goodbye."""
    return len(leftover(text)) >= MIN_QUESTION_CHARS


class ActionSmallTalk(Action):  # type: ignore[misc]
    """Answers a pleasantry with its response; a question inside it goes to the knowledge base."""

    def __init__(self, retriever: RetrieverProvider | None = None) -> None:
        self._retriever = retriever

    def name(self) -> str:
        return "action_small_talk"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[Event]:
        text = latest_text(tracker)
        if carries_question(text):
            return await answer_question(dispatcher, text, resolve(self._retriever))
        if has_personal_data(text):
            dispatcher.utter_message(text=PRIVACY_TEXT)
            dispatcher.utter_message(text=ASK_WHAT_TEXT)
            return []
        dispatcher.utter_message(response=RESPONSES.get(latest_intent(tracker) or "", "utter_greet"))
        return []
