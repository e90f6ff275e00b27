"""Builders shared by the bot tests: FAQ entries, retrievals, fake retrievers and trackers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from rasa_sdk import Tracker

from bot.actions.deps import KnowledgeBaseUnavailable, Retriever
from knowledge_base.models import Band, Category, FaqEntry, FollowUpQueue, Hit, Retrieval


def make_entry(
    entry_id: str = "bg-kcb-threshold",
    *,
    queue: FollowUpQueue = FollowUpQueue.SERVICE,
    category: Category = Category.BUSINESS_GUIDE,
    question: str = "科创板交易权限开通需要满足什么条件？",
    answer: str = "开通科创板交易权限需满足资产、交易经验和测评要求。",
) -> FaqEntry:
    return FaqEntry(
        id=entry_id,
        category=category,
        queue=queue,
        question=question,
        similar=("688开头的股票怎么才能买", "开科创板要多少资产", "科创版权限门槛是50万吗"),
        answer=answer,
    )


def make_hit(entry: FaqEntry | None = None, score: float = 0.93) -> Hit:
    entry = entry or make_entry()
    return Hit(entry=entry, score=score, matched=entry.question)


def make_retrieval(query: str, band: Band, hits: Sequence[Hit] = ()) -> Retrieval:
    return Retrieval(query=query, band=band, hits=tuple(hits))


class FakeRetriever:
    """Returns a fixed retrieval (or raises) and records every question asked."""

    def __init__(self, retrieval: Retrieval | None = None, error: Exception | None = None) -> None:
        self.retrieval = retrieval
        self.error = error
        self.questions: list[str] = []

    def retrieve(self, question: str, k: int = 3) -> Retrieval:
        self.questions.append(question)
        if self.error is not None:
            raise self.error
        assert self.retrieval is not None
        return self.retrieval


def provider_of(retriever: Retriever):
    return lambda: retriever


def unavailable_provider() -> Retriever:
    raise KnowledgeBaseUnavailable("index not found: var/index")


def make_tracker(text: str, intent: str, slots: dict[str, Any] | None = None, confidence: float = 0.97) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": []}
    return Tracker(
        sender_id="client-1",
        slots=dict(slots or {}),
        latest_message=latest,
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def kcb_entry() -> FaqEntry:
    return make_entry()


@pytest.fixture
def advisor_entry() -> FaqEntry:
    return make_entry(
        "si-asset-allocation",
        queue=FollowUpQueue.ADVISOR,
        category=Category.SMART_INVESTING,
        question="什么是资产配置？",
        answer="资产配置是把资金分散到不同类别资产上的方法。",
    )
