"""Where the learning loop keeps its evidence, candidates and index versions: the port and its SQL adapter
(the record's database: SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row, and_, case, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.learning.models import (
    BuildStatus,
    Candidate,
    CandidateKind,
    EntryFigures,
    GapQuestionRow,
    IndexVersion,
    NewCandidate,
    NewOffer,
    Offer,
    OfferedEntry,
    OfferKind,
    Outcome,
    Source,
    Status,
)
from handoff_api.learning.tables import kb_candidates, kb_index_versions, kb_offers
from routing.sql_tables import messages

HUMAN_SENDERS = ("agent", "responder")


class LearningStore(Protocol):
    """Offers and their outcomes, review candidates and index versions."""

    async def add_offer(self, offer: NewOffer) -> int: ...

    async def latest_offer(self, conversation_id: str) -> Offer | None: ...

    async def set_outcome(self, offer_id: int, outcome: Outcome, faq_id: str | None, at: datetime) -> None: ...

    async def mark_escalated(self, offer_id: int) -> None: ...

    async def entry_figures(self) -> list[EntryFigures]: ...

    async def gap_questions(self, limit: int) -> list[GapQuestionRow]: ...

    async def add_candidate(self, candidate: NewCandidate) -> int: ...

    async def candidates(self, status: Status | None, limit: int) -> list[Candidate]: ...

    async def candidates_by_id(self, ids: Sequence[int]) -> list[Candidate]: ...

    async def review(self, candidate: Candidate) -> None: ...

    async def request_build(self, actor: str, at: datetime) -> IndexVersion: ...

    async def claim_build(self, builder: str, now: datetime, stale_before: datetime) -> IndexVersion | None: ...

    async def finish_build(self, version: IndexVersion) -> None: ...

    async def latest_ready(self) -> IndexVersion | None: ...

    async def versions(self, limit: int) -> list[IndexVersion]: ...


def _offer(row: Row[Any]) -> Offer:
    entries = tuple(OfferedEntry(e["faq_id"], e.get("score"), e.get("question")) for e in row.entries)
    return Offer(
        conversation_id=row.conversation_id,
        question=row.question,
        kind=OfferKind(row.kind),
        band=row.band,
        entries=entries,
        at=row.created_at,
        reason=row.reason,
        origin_question=row.origin_question,
        index_version=row.index_version,
        id=row.id,
        outcome=Outcome(row.outcome) if row.outcome else None,
        outcome_faq_id=row.outcome_faq_id,
        escalated=bool(row.escalated),
    )


def _candidate(row: Row[Any]) -> Candidate:
    return Candidate(
        kind=CandidateKind(row.kind),
        text=row.text,
        faq_id=row.faq_id,
        source=Source(row.source),
        actor=row.actor,
        at=row.created_at,
        conversation_id=row.conversation_id,
        entry=row.entry,
        id=row.id,
        status=Status(row.status),
        reviewer=row.reviewer,
        reviewed_at=row.reviewed_at,
    )


def _version(row: Row[Any]) -> IndexVersion:
    return IndexVersion(
        version=row.version,
        status=BuildStatus(row.status),
        requested_by=row.requested_by,
        created_at=row.created_at,
        directory=row.directory,
        builder=row.builder,
        phrasings=row.phrasings,
        entries=row.entries,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class SqlLearningStore:
    """LearningStore on the record's database (the caller disposes the engine)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        """The record's engine (shared; the caller disposes it)."""
        return self._engine

    async def add_offer(self, offer: NewOffer) -> int:
        top = offer.top
        values = {
            "conversation_id": offer.conversation_id,
            "question": offer.question,
            "origin_question": offer.origin_question,
            "kind": offer.kind.value,
            "band": offer.band,
            "reason": offer.reason,
            "entries": [entry.to_json() for entry in offer.entries],
            "top_faq_id": top.faq_id if top else None,
            "top_score": top.score if top else None,
            "escalated": False,
            "index_version": offer.index_version,
            "created_at": offer.at,
        }
        async with self._engine.begin() as conn:
            result = await conn.execute(insert(kb_offers).values(**values).returning(kb_offers.c.id))
            return int(result.scalar_one())

    async def latest_offer(self, conversation_id: str) -> Offer | None:
        query = (
            select(kb_offers)
            .where(kb_offers.c.conversation_id == conversation_id)
            .order_by(kb_offers.c.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _offer(row) if row is not None else None

    async def set_outcome(self, offer_id: int, outcome: Outcome, faq_id: str | None, at: datetime) -> None:
        change = {"outcome": outcome.value, "outcome_faq_id": faq_id, "outcome_at": at}
        async with self._engine.begin() as conn:
            await conn.execute(update(kb_offers).where(kb_offers.c.id == offer_id).values(**change))

    async def mark_escalated(self, offer_id: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(update(kb_offers).where(kb_offers.c.id == offer_id).values(escalated=True))

    async def entry_figures(self) -> list[EntryFigures]:
        c = kb_offers.c
        shown = c.kind != OfferKind.ESCALATE.value

        def count(condition: Any) -> Any:
            return func.sum(case((condition, 1), else_=0))

        query = (
            select(
                c.top_faq_id,
                func.count().label("shown"),
                count(c.outcome == Outcome.CONFIRMED.value).label("confirmed"),
                count(c.outcome == Outcome.UNRESOLVED.value).label("unresolved"),
                count(c.escalated.is_(True)).label("escalated"),
            )
            .where(and_(shown, c.top_faq_id.is_not(None)))
            .group_by(c.top_faq_id)
            .order_by(func.count().desc(), c.top_faq_id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            EntryFigures(
                r.top_faq_id, int(r.shown), int(r.confirmed or 0), int(r.unresolved or 0), int(r.escalated or 0)
            )
            for r in rows
        ]

    async def gap_questions(self, limit: int) -> list[GapQuestionRow]:
        c = kb_offers.c
        wanted = or_(
            and_(c.kind == OfferKind.ESCALATE.value, c.reason.in_(("low_score", "client_unresolved", "asked_human"))),
            c.outcome == Outcome.UNRESOLVED.value,
        )
        answer = (
            select(messages.c.text)
            .where(
                messages.c.conversation_id == c.conversation_id,
                messages.c.sender.in_(HUMAN_SENDERS),
                messages.c.created_at >= c.created_at,
            )
            .order_by(messages.c.seq)
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(c.conversation_id, c.question, c.origin_question, c.created_at, answer.label("answer"))
            .where(wanted)
            .order_by(c.id.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        seen: set[tuple[str, str]] = set()
        found: list[GapQuestionRow] = []
        for row in rows:
            question = row.origin_question or row.question
            if (row.conversation_id, question) in seen:
                continue
            seen.add((row.conversation_id, question))
            found.append(GapQuestionRow(row.conversation_id, question, row.created_at, row.answer))
        return found

    async def add_candidate(self, candidate: NewCandidate) -> int:
        c = kb_candidates.c
        same = select(c.id).where(
            c.kind == candidate.kind.value,
            c.text == candidate.text,
            c.faq_id == candidate.faq_id if candidate.faq_id is not None else c.faq_id.is_(None),
            c.status == Status.PENDING.value,
        )
        values = {
            "kind": candidate.kind.value,
            "text": candidate.text,
            "faq_id": candidate.faq_id,
            "entry": candidate.entry,
            "source": candidate.source.value,
            "conversation_id": candidate.conversation_id,
            "actor": candidate.actor,
            "created_at": candidate.at,
            "status": Status.PENDING.value,
        }
        async with self._engine.begin() as conn:
            existing = (await conn.execute(same.limit(1))).scalar()
            if existing is not None and candidate.kind is CandidateKind.PHRASING:
                return int(existing)
            result = await conn.execute(insert(kb_candidates).values(**values).returning(c.id))
            return int(result.scalar_one())

    async def candidates(self, status: Status | None, limit: int) -> list[Candidate]:
        query = select(kb_candidates).order_by(kb_candidates.c.id).limit(limit)
        if status is not None:
            query = query.where(kb_candidates.c.status == status.value)
        async with self._engine.connect() as conn:
            return [_candidate(row) for row in (await conn.execute(query)).all()]

    async def candidates_by_id(self, ids: Sequence[int]) -> list[Candidate]:
        query = select(kb_candidates).where(kb_candidates.c.id.in_(list(ids))).order_by(kb_candidates.c.id)
        async with self._engine.connect() as conn:
            return [_candidate(row) for row in (await conn.execute(query)).all()]

    async def review(self, candidate: Candidate) -> None:
        change = {
            "text": candidate.text,
            "faq_id": candidate.faq_id,
            "entry": candidate.entry,
            "status": candidate.status.value,
            "reviewer": candidate.reviewer,
            "reviewed_at": candidate.reviewed_at,
        }
        async with self._engine.begin() as conn:
            await conn.execute(update(kb_candidates).where(kb_candidates.c.id == candidate.id).values(**change))

    async def request_build(self, actor: str, at: datetime) -> IndexVersion:
        c = kb_index_versions.c
        async with self._engine.begin() as conn:
            waiting = (
                await conn.execute(select(kb_index_versions).where(c.status == BuildStatus.PENDING.value))
            ).first()
            if waiting is not None:
                return _version(waiting)
            values = {"status": BuildStatus.PENDING.value, "requested_by": actor, "created_at": at}
            row = (await conn.execute(insert(kb_index_versions).values(**values).returning(kb_index_versions))).one()
            return _version(row)

    async def claim_build(self, builder: str, now: datetime, stale_before: datetime) -> IndexVersion | None:
        """The oldest pending build, now building by ``builder``; None while another build runs, when none
        waits, or when another worker won it. A build started before ``stale_before`` lost its worker: failed."""
        c = kb_index_versions.c
        building = BuildStatus.BUILDING.value
        async with self._engine.begin() as conn:
            await conn.execute(
                update(kb_index_versions)
                .where(c.status == building, c.started_at < stale_before)
                .values(status=BuildStatus.FAILED.value, error="the building worker stopped", finished_at=now)
            )
            if (await conn.execute(select(c.version).where(c.status == building))).first():
                return None
            first = (
                await conn.execute(select(c.version).where(c.status == BuildStatus.PENDING.value).order_by(c.version))
            ).scalar()
            if first is None:
                return None
            claimed = await conn.execute(
                update(kb_index_versions)
                .where(c.version == first, c.status == BuildStatus.PENDING.value)
                .values(status=building, builder=builder, started_at=now)
                .returning(kb_index_versions)
            )
            row = claimed.first()
            return _version(row) if row is not None else None

    async def finish_build(self, version: IndexVersion) -> None:
        change = {
            "status": version.status.value,
            "directory": version.directory,
            "phrasings": version.phrasings,
            "entries": version.entries,
            "error": version.error,
            "finished_at": version.finished_at,
        }
        async with self._engine.begin() as conn:
            await conn.execute(
                update(kb_index_versions).where(kb_index_versions.c.version == version.version).values(**change)
            )

    async def latest_ready(self) -> IndexVersion | None:
        c = kb_index_versions.c
        query = select(kb_index_versions).where(c.status == BuildStatus.READY.value).order_by(c.version.desc()).limit(1)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _version(row) if row is not None else None

    async def versions(self, limit: int) -> list[IndexVersion]:
        query = select(kb_index_versions).order_by(kb_index_versions.c.version.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_version(row) for row in (await conn.execute(query)).all()]
