"""What the learning loop stores: offers of tier 1, review candidates and index versions (pure values)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class OfferKind(StrEnum):
    """What tier 1 gave the client."""

    ANSWER = "answer"
    SUGGESTIONS = "suggestions"
    ESCALATE = "escalate"


class Outcome(StrEnum):
    """What the client did with an offer."""

    CONFIRMED = "confirmed"
    UNRESOLVED = "unresolved"
    CLICKED = "clicked"


class CandidateKind(StrEnum):
    """A new phrasing of an existing entry, or a draft of a new entry."""

    PHRASING = "phrasing"
    ENTRY = "entry"


class Source(StrEnum):
    """Where a candidate came from."""

    CLIENT_CONFIRMED = "client_confirmed"
    AGENT_ASSIST = "agent_assist"
    RESOLVE_MARKED = "resolve_marked"
    GAP_DRAFT = "gap_draft"


class Status(StrEnum):
    """Where a candidate is in review."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class BuildStatus(StrEnum):
    """Where an index build is."""

    PENDING = "pending"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class OfferedEntry:
    """One entry shown to the client, with its score."""

    faq_id: str
    score: float | None
    question: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"faq_id": self.faq_id, "score": self.score, "question": self.question}


@dataclass(frozen=True)
class NewOffer:
    """An offer to store."""

    conversation_id: str
    question: str
    kind: OfferKind
    band: str | None
    entries: tuple[OfferedEntry, ...]
    at: datetime
    reason: str | None = None
    origin_question: str | None = None
    index_version: int | None = None

    @property
    def top(self) -> OfferedEntry | None:
        return self.entries[0] if self.entries else None


@dataclass(frozen=True)
class Offer(NewOffer):
    """A stored offer and what followed it."""

    id: int = 0
    outcome: Outcome | None = None
    outcome_faq_id: str | None = None
    escalated: bool = False


@dataclass(frozen=True)
class NewCandidate:
    """A candidate to queue for review; ``entry`` holds a draft entry's fields."""

    kind: CandidateKind
    text: str
    faq_id: str | None
    source: Source
    actor: str
    at: datetime
    conversation_id: str | None = None
    entry: dict[str, Any] | None = None


@dataclass(frozen=True)
class Candidate(NewCandidate):
    """A stored candidate with its review state."""

    id: int = 0
    status: Status = Status.PENDING
    reviewer: str | None = None
    reviewed_at: datetime | None = None


@dataclass(frozen=True)
class IndexVersion:
    """One index build."""

    version: int
    status: BuildStatus
    requested_by: str
    created_at: datetime
    directory: str | None = None
    builder: str | None = None
    phrasings: int | None = None
    entries: int | None = None
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(frozen=True)
class EntryFigures:
    """Per-entry evidence: times shown, confirmed, marked unresolved, escalated afterwards."""

    faq_id: str
    shown: int = 0
    confirmed: int = 0
    unresolved: int = 0
    escalated: int = 0


@dataclass(frozen=True)
class GapQuestionRow:
    """An escalated or unresolved question, with the first human answer given in its conversation."""

    conversation_id: str
    question: str
    at: datetime
    answer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
