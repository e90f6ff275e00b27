"""Domain types of the knowledge base: FAQ entries, retrieval hits and score bands (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    """The six FAQ categories of the digital branch."""

    SMART_INVESTING = "smart_investing"  # 智能投资
    WEALTH_MANAGEMENT = "wealth_management"  # 智能理财
    CUSTOMER_SERVICE = "customer_service"  # 智能客服
    BUSINESS_GUIDE = "business_guide"  # 业务指引
    FINANCE_WIKI = "finance_wiki"  # 金融百科
    INVESTOR_EDUCATION = "investor_education"  # 投教资讯


class FollowUpQueue(StrEnum):
    """Who takes follow-up questions on an entry: licensed advisors or customer service."""

    ADVISOR = "advisor"
    SERVICE = "service"


class Band(StrEnum):
    """What tier 1 does with a retrieval: answer it, suggest the top entries, or escalate."""

    ANSWER = "answer"
    SUGGEST = "suggest"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class FaqEntry:
    """One question-and-answer record of the corpus."""

    id: str
    category: Category
    queue: FollowUpQueue
    question: str
    similar: tuple[str, ...]
    answer: str
    tags: tuple[str, ...] = ()
    valid_from: date | None = None
    valid_to: date | None = None

    @property
    def phrasings(self) -> tuple[str, ...]:
        """The canonical question followed by every other phrasing."""
        return (self.question, *self.similar)

    def is_valid_on(self, day: date) -> bool:
        """Whether the entry may be served on ``day`` (validity bounds are inclusive)."""
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_to is not None and day > self.valid_to)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict in the corpus format."""
        data: dict[str, Any] = {
            "id": self.id,
            "category": self.category.value,
            "queue": self.queue.value,
            "question": self.question,
            "similar": list(self.similar),
            "answer": self.answer,
            "tags": list(self.tags),
        }
        data["valid_from"] = self.valid_from.isoformat() if self.valid_from else None
        data["valid_to"] = self.valid_to.isoformat() if self.valid_to else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaqEntry:
        """Rebuild an entry from :meth:`to_dict` output (trusted input, e.g. a saved index)."""
        return cls(
            id=str(data["id"]),
            category=Category(data["category"]),
            queue=FollowUpQueue(data["queue"]),
            question=str(data["question"]),
            similar=tuple(str(s) for s in data.get("similar") or ()),
            answer=str(data["answer"]),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            valid_from=date.fromisoformat(data["valid_from"]) if data.get("valid_from") else None,
            valid_to=date.fromisoformat(data["valid_to"]) if data.get("valid_to") else None,
        )


@dataclass(frozen=True)
class Hit:
    """An entry found for a query, scored by its best-matching phrasing."""

    entry: FaqEntry
    score: float
    matched: str


@dataclass(frozen=True)
class Retrieval:
    """The outcome of retrieving a client question: the band and the best distinct entries."""

    query: str
    band: Band
    hits: tuple[Hit, ...] = field(default_factory=tuple)

    @property
    def top(self) -> Hit | None:
        """The best hit, if any."""
        return self.hits[0] if self.hits else None

    @property
    def queue_hint(self) -> FollowUpQueue | None:
        """The follow-up queue suggested by the nearest entries (majority of the top 3, ties to the top)."""
        if not self.hits:
            return None
        nearest = [hit.entry.queue for hit in self.hits[:3]]
        best = nearest[0]
        counts = {queue: nearest.count(queue) for queue in nearest}
        winner = max(counts, key=lambda queue: (counts[queue], queue == best))
        return winner


@dataclass(frozen=True)
class ScoreBands:
    """Calibrated thresholds: answer when score >= answer and top1-top2 margin >= margin;
    suggest when score >= suggest; escalate otherwise."""

    answer: float
    suggest: float
    margin: float = 0.0

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form."""
        return {"answer": self.answer, "suggest": self.suggest, "margin": self.margin}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreBands:
        """Rebuild from :meth:`to_dict` output."""
        return cls(answer=float(data["answer"]), suggest=float(data["suggest"]), margin=float(data.get("margin", 0.0)))
