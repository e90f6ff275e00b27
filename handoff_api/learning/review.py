"""The review queue: knowledge editors approve, edit, reject or move candidates in batches; every change is
audited, and an approved batch asks for a new index version."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from handoff_api.learning.models import Candidate, CandidateKind, IndexVersion, NewCandidate, Source, Status
from handoff_api.learning.store import LearningStore
from handoff_api.masking import mask_text
from knowledge_base.corpus import Problem, RawEntry, build_entry
from knowledge_base.learn import MAX_PHRASING_CHARS
from routing.audit import AuditAction
from routing.errors import ValidationFailed

ReviewAction = Literal["approve", "reject", "edit", "move"]
Audit = Callable[[str, str, str, dict[str, object]], Awaitable[None]]
ENTRY_FIELDS = ("id", "category", "queue", "question", "similar", "answer", "tags", "valid_from", "valid_to")


class ReviewError(ValidationFailed):
    """A review request that cannot be applied (unknown candidate, entry or bad draft)."""


@dataclass(frozen=True)
class Decision:
    """One item of a review batch: what to do, and the edited text, target entry or draft fields."""

    candidate_id: int
    action: ReviewAction
    text: str | None = None
    faq_id: str | None = None
    entry: dict[str, Any] | None = None


def check_draft(entry: dict[str, Any], taken: set[str]) -> dict[str, Any]:
    """The draft's corpus fields, validated as the corpus loader would; ReviewError says what is wrong."""
    data = {key: entry.get(key) for key in ENTRY_FIELDS if entry.get(key) not in (None, "")}
    data.setdefault("similar", [])
    problems: list[Problem] = []
    built = build_entry(RawEntry(data, "draft", 0, {}, {}), problems)
    if built is None:
        raise ReviewError("; ".join(problem.reason for problem in problems))
    if built.id in taken:
        raise ReviewError(f"entry id '{built.id}' already exists")
    for key in ("valid_from", "valid_to"):
        value = data.get(key)
        if isinstance(value, date):
            data[key] = value.isoformat()
    return data


def draft_id(question: str) -> str:
    """A stable id for a draft entry made from a gap."""
    return "gap-" + hashlib.sha1(question.encode("utf-8")).hexdigest()[:10]


def masked(candidate: Candidate) -> dict[str, Any]:
    """A candidate as the review view shows it: personal data masked."""
    entry = dict(candidate.entry) if candidate.entry else None
    if entry is not None:
        entry["question"] = mask_text(str(entry.get("question", "")))
        entry["similar"] = [mask_text(str(text)) for text in entry.get("similar") or []]
    return {
        "id": candidate.id,
        "kind": candidate.kind.value,
        "text": mask_text(candidate.text),
        "faq_id": candidate.faq_id,
        "entry": entry,
        "source": candidate.source.value,
        "actor": candidate.actor,
        "conversation_id": candidate.conversation_id,
        "created_at": candidate.at.isoformat(),
        "status": candidate.status.value,
        "reviewer": candidate.reviewer,
    }


class Review:
    """Review use cases over the learning store; ``known_ids`` gives the live entry ids."""

    def __init__(
        self,
        store: LearningStore,
        audit: Audit,
        known_ids: Callable[[], set[str]],
        now: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._audit = audit
        self._known_ids = known_ids
        self._now = now

    async def queue(self, status: Status | None, limit: int) -> list[dict[str, Any]]:
        """Candidates (pending by default), masked."""
        return [masked(c) for c in await self._store.candidates(status, limit)]

    async def draft(self, staff_id: str, entry: dict[str, Any]) -> int:
        """Queue a draft entry (起草FAQ) for review, validated first."""
        fields = dict(entry)
        fields["id"] = fields.get("id") or draft_id(str(fields.get("question") or ""))
        checked = check_draft(fields, self._known_ids())
        candidate = NewCandidate(
            kind=CandidateKind.ENTRY,
            text=str(checked["question"]),
            faq_id=str(checked["id"]),
            source=Source.GAP_DRAFT,
            actor=staff_id,
            at=self._now(),
            entry=checked,
        )
        return await self._store.add_candidate(candidate)

    async def apply(self, staff_id: str, decisions: Sequence[Decision]) -> tuple[list[dict[str, Any]], bool]:
        """Apply a batch (all checked before any is stored); the reviewed candidates, and whether any was approved."""
        ids = [d.candidate_id for d in decisions]
        if len(set(ids)) != len(ids):
            raise ReviewError("a batch names each candidate once")
        found = {c.id: c for c in await self._store.candidates_by_id(ids)}
        known = self._known_ids()
        changed = [self._decide(found, known, staff_id, decision) for decision in decisions]
        for candidate, decision in zip(changed, decisions, strict=True):
            await self._store.review(candidate)
            detail: dict[str, object] = {
                "candidate": candidate.id,
                "decision": decision.action,
                "kind": candidate.kind.value,
                "faq_id": candidate.faq_id,
                "source": candidate.source.value,
            }
            await self._audit(staff_id, AuditAction.KB_REVIEW.value, f"kb_candidate:{candidate.id}", detail)
        approved = any(c.status is Status.APPROVED for c in changed)
        return [masked(c) for c in changed], approved

    def _decide(self, found: dict[int, Candidate], known: set[str], staff_id: str, decision: Decision) -> Candidate:
        candidate = found.get(decision.candidate_id)
        if candidate is None:
            raise ReviewError(f"candidate {decision.candidate_id} does not exist")
        if candidate.status is not Status.PENDING:
            raise ReviewError(f"candidate {candidate.id} was already reviewed")
        text = decision.text.strip() if decision.text and decision.text.strip() else mask_text(candidate.text)
        if len(text) > MAX_PHRASING_CHARS:
            raise ReviewError(f"text is longer than {MAX_PHRASING_CHARS} characters")
        faq_id = decision.faq_id or candidate.faq_id
        entry = candidate.entry
        if candidate.kind is CandidateKind.ENTRY and decision.action != "reject":
            entry = check_draft({**(entry or {}), **(decision.entry or {})}, known)
            text, faq_id = str(entry["question"]), str(entry["id"])
        elif decision.action != "reject" and faq_id not in known:
            raise ReviewError(f"entry '{faq_id}' is not in the knowledge base")
        if decision.action in ("edit", "move"):
            return replace(candidate, text=text, faq_id=faq_id, entry=entry)
        status = Status.APPROVED if decision.action == "approve" else Status.REJECTED
        return replace(
            candidate, text=text, faq_id=faq_id, entry=entry, status=status, reviewer=staff_id, reviewed_at=self._now()
        )

    async def request_build(self, staff_id: str) -> IndexVersion:
        """Ask for a new index version (the next watch tick of some worker builds it)."""
        return await self._store.request_build(staff_id, self._now())
