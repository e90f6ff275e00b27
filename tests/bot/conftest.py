"""Builders shared by the bot tests: FAQ entries, retrievals, fake retrievers and trackers."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.actions.deps import KnowledgeBaseUnavailable, Retriever
from knowledge_base.models import Retrieval
from tests.faq_builders import make_entry, make_hit, make_retrieval

__all__ = ["FakeRetriever", "make_entry", "make_hit", "make_retrieval", "make_tracker", "provider_of"]


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
