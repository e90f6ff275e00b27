"""Tier 1 without Rasa: the API answers from its own FAQ index with the bot's bands and payloads.

`LocalTier1` understands what Rasa's NLU would route elsewhere only as far as words allow: a
request for a person (转人工), a request for individual investment advice (which a bot must never
answer), the rating buttons and plain pleasantries; every other text goes through the knowledge
base's score bands exactly as the bot's answer action does. `ResilientBot` uses it whenever Rasa
is unreachable or too slow, tells each client once, and goes back to Rasa as soon as it answers.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable

from handoff_api.bot_client import FEEDBACK_TRIGGERS, HUMAN_REQUEST_TRIGGER, BotClient, BotPayload, BotUnavailable
from knowledge_base.models import FollowUpQueue, Retrieval
from knowledge_base.personal_data import remove_personal_data
from knowledge_base.replies import EscalationReason, escalate_payload, feedback_payload, retrieval_payload

log = logging.getLogger(__name__)

DEGRADED_NOTICE = "智能助手正在使用备用应答，您仍可直接提问；如需人工服务，请回复“转人工”。"
GREETING_TEXT = "您好，我是智能投顾机器人，请直接输入您的问题；需要人工服务时，回复“转人工”即可。"
RETRY_SECONDS = 10.0

_HUMAN = re.compile(r"转人工|人工服务|人工客服|找人工|真人|在线客服|在线投顾|投资顾问|客服人员")
_ADVICE = re.compile(
    r"推荐.{0,6}(股票|基金|个股|票)|买哪[只支个]|(能|可以|该|要不要)(买|卖|抄底|加仓|减仓)|"
    r"(会|能)(涨|跌)|涨停|目标价|帮我(选|挑|看看).{0,6}(股|基金)|仓位(怎么|如何)?(配置|安排)"
)
_PLEASANTRY = re.compile(r"(你好|您好|在吗|有人吗|谢谢|多谢|感谢|再见|拜拜|好的)[呀啊吗的了！!。~～\s]*")

Retrieve = Callable[[str], Retrieval]


class LocalTier1:
    """The bot's replies computed in the API process (BotClient-shaped)."""

    def __init__(self, retrieve: Retrieve | None) -> None:
        self._retrieve = retrieve

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        """The payloads the bot would most likely send for `text`."""
        if text == FEEDBACK_TRIGGERS[True]:
            return [feedback_payload(None)]
        if text == FEEDBACK_TRIGGERS[False]:
            return [escalate_payload(EscalationReason.CLIENT_UNRESOLVED, question=None, queue_hint=None)]
        if text == HUMAN_REQUEST_TRIGGER or _HUMAN.search(text):
            return [escalate_payload(EscalationReason.ASKED_HUMAN, question=None, queue_hint=named_queue(text))]
        if _ADVICE.search(text):
            return [escalate_payload(EscalationReason.ADVICE_REQUEST, question=text, queue_hint=FollowUpQueue.ADVISOR)]
        if _PLEASANTRY.fullmatch(text.strip()):
            return [{"type": "text", "text": GREETING_TEXT}]
        question = remove_personal_data(text)
        if self._retrieve is None or not question:
            return [escalate_payload(EscalationReason.KB_UNAVAILABLE, question=question or None, queue_hint=None)]
        try:
            retrieval = await asyncio.to_thread(self._retrieve, question)
        except Exception:
            log.exception("in-process retrieval failed")
            return [escalate_payload(EscalationReason.KB_UNAVAILABLE, question=question, queue_hint=None)]
        return [retrieval_payload(retrieval)]

    async def ping(self) -> bool:
        """Whether this tier 1 can answer questions (it has an index)."""
        return self._retrieve is not None


def named_queue(text: str) -> FollowUpQueue | None:
    """The queue the client names when asking for a person."""
    if "投顾" in text or "顾问" in text:
        return FollowUpQueue.ADVISOR
    if "客服" in text:
        return FollowUpQueue.SERVICE
    return None


class ResilientBot:
    """Rasa first; the local tier 1 while Rasa is unreachable or too slow (BotClient-shaped)."""

    def __init__(
        self,
        primary: BotClient,
        fallback: LocalTier1,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._primary = primary
        self._fallback = fallback
        self._retry_seconds = retry_seconds
        self._clock = clock
        self._down_since: float | None = None
        self._next_try = 0.0
        self._told: set[str] = set()

    @property
    def degraded(self) -> bool:
        """Whether the last attempt to reach Rasa failed."""
        return self._down_since is not None

    async def send(self, conversation_id: str, text: str) -> list[BotPayload]:
        """Rasa's payloads, or the local tier 1's (after a one-time notice) while Rasa is away."""
        if self._down_since is None or self._clock() >= self._next_try:
            try:
                payloads = await self._primary.send(conversation_id, text)
            except BotUnavailable as exc:
                self._mark_down(exc)
            else:
                self._mark_up()
                return payloads
        payloads = await self._fallback.send(conversation_id, text)
        if conversation_id not in self._told:
            self._told.add(conversation_id)
            payloads = [{"type": "text", "text": DEGRADED_NOTICE, "degraded": True}, *payloads]
        return payloads

    async def ping(self) -> bool:
        """Whether Rasa itself answers (a successful ping also ends the degraded mode)."""
        alive = await self._primary.ping()
        if alive and self._down_since is not None:
            self._mark_up()
        return alive

    def _mark_down(self, reason: BotUnavailable) -> None:
        if self._down_since is None:
            log.warning("Rasa unavailable (%s): answering from the API's own FAQ index", reason)
            self._down_since = self._clock()
        self._next_try = self._clock() + self._retry_seconds

    def _mark_up(self) -> None:
        if self._down_since is not None:
            log.info("Rasa answers again after %.0fs: back to the bot", self._clock() - self._down_since)
        self._down_since = None
        self._told.clear()
