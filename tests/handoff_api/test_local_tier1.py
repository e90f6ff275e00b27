"""Tier 1 in the API process: the bot's bands and payloads without Rasa, and the switch back."""

from __future__ import annotations

import pytest

from handoff_api.bot_client import BotPayload, BotUnavailable
from handoff_api.local_tier1 import DEGRADED_NOTICE, LocalTier1, ResilientBot
from knowledge_base.models import Band, Retrieval
from tests.faq_builders import make_entry, make_hit, make_retrieval


def answering(question: str) -> Retrieval:
    return make_retrieval(question, Band.ANSWER, [make_hit(make_entry(), 0.95)])


class FlakyRasa:
    def __init__(self) -> None:
        self.down = True
        self.calls = 0

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        self.calls += 1
        if self.down:
            raise BotUnavailable("Rasa server unreachable: ConnectError")
        return [{"type": "text", "text": "来自Rasa"}]

    async def ping(self) -> bool:
        return not self.down


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "kind", "reason"),
    [
        ("科创板怎么开通", "answer", None),
        ("/ask_human", "escalate", "asked_human"),
        ("我要转人工", "escalate", "asked_human"),
        ("帮我推荐一只股票", "escalate", "advice_request"),
        ("明天这只票会涨吗", "escalate", "advice_request"),
        ("/feedback_unresolved", "escalate", "client_unresolved"),
        ("/feedback_resolved", "feedback", None),
        ("你好", "text", None),
    ],
)
async def test_the_local_tier1_answers_like_the_bot(text: str, kind: str, reason: str | None) -> None:
    [payload] = await LocalTier1(answering).send("c1", text)
    assert payload["type"] == kind
    assert payload.get("reason") == reason


async def test_a_named_queue_is_kept_and_advice_goes_to_advisors() -> None:
    [human] = await LocalTier1(answering).send("c1", "转人工客服")
    assert human["queue_hint"] == "service"
    [advice] = await LocalTier1(answering).send("c1", "推荐几只基金")
    assert advice["queue_hint"] == "advisor"


async def test_without_an_index_questions_go_to_a_person() -> None:
    [payload] = await LocalTier1(None).send("c1", "两融怎么开")
    assert (payload["type"], payload["reason"]) == ("escalate", "kb_unavailable")
    assert not await LocalTier1(None).ping()


async def test_personal_numbers_never_reach_the_index() -> None:
    asked: list[str] = []

    def retrieve(question: str) -> Retrieval:
        asked.append(question)
        return answering(question)

    await LocalTier1(retrieve).send("c1", "手机号13812345678怎么改")
    assert asked == ["手机号 怎么改"]


async def test_the_client_is_told_once_and_rasa_is_tried_again_later() -> None:
    rasa, clock = FlakyRasa(), Clock()
    bot = ResilientBot(rasa, LocalTier1(answering), retry_seconds=10, clock=clock)
    first = await bot.send("c1", "科创板怎么开通")
    assert first[0]["text"] == DEGRADED_NOTICE and first[1]["type"] == "answer" and bot.degraded
    second = await bot.send("c1", "创业板呢")
    assert [p["type"] for p in second] == ["answer"]  # told once
    assert rasa.calls == 1  # not retried before the retry interval
    other = await bot.send("c2", "你好")
    assert other[0]["text"] == DEGRADED_NOTICE
    rasa.down = False
    clock.now = 11
    back = await bot.send("c1", "你好")
    assert back == [{"type": "text", "text": "来自Rasa"}] and not bot.degraded


async def test_a_successful_ping_ends_the_degraded_mode() -> None:
    rasa = FlakyRasa()
    bot = ResilientBot(rasa, LocalTier1(answering), retry_seconds=3600)
    await bot.send("c1", "你好")
    assert bot.degraded and not await bot.ping()
    rasa.down = False
    assert await bot.ping() and not bot.degraded
    assert await bot.send("c1", "你好") == [{"type": "text", "text": "来自Rasa"}]
