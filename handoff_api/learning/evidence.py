"""Evidence from every conversation: what tier 1 offered and what the client did with it, and the answers
staff label. The flow hands each bot turn to :class:`EvidenceRecorder`, which writes it off the client's
critical path (one background consumer per process, in turn order)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from handoff_api.client_input import ClientInput, Rating, Utterance
from handoff_api.learning.models import (
    CandidateKind,
    NewCandidate,
    NewOffer,
    Offer,
    OfferedEntry,
    OfferKind,
    Outcome,
    Source,
)
from handoff_api.learning.store import LearningStore
from routing.ports import Clock

log = logging.getLogger(__name__)
QUEUE_LIMIT = 10_000
CLIENT_ACTOR = "client"


def offered_entries(payload: dict[str, Any]) -> tuple[OfferedEntry, ...]:
    """The entries a bot payload showed, best first."""
    kind = payload.get("type")
    if kind == OfferKind.ANSWER and isinstance(payload.get("faq_id"), str):
        return (OfferedEntry(payload["faq_id"], _score(payload.get("score")), payload.get("question")),)
    if kind == OfferKind.SUGGESTIONS:
        items = payload.get("suggestions") or []
        return tuple(
            OfferedEntry(item["faq_id"], _score(item.get("score")), item.get("question"))
            for item in items
            if isinstance(item, dict) and isinstance(item.get("faq_id"), str)
        )
    if kind == OfferKind.ESCALATE and isinstance(payload.get("faq_id"), str):
        return (OfferedEntry(payload["faq_id"], _score(payload.get("score"))),)
    return ()


def _score(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


class EvidenceRecorder:
    """Stores offers, outcomes, suggestion clicks, escalations and staff labels."""

    def __init__(self, store: LearningStore, clock: Clock, version: Callable[[], int | None] = lambda: None) -> None:
        self._store = store
        self._clock = clock
        self._version = version
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue(QUEUE_LIMIT)
        self._consumer: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background writer (inside the running loop)."""
        self._consumer = asyncio.create_task(self._consume())

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        await self.drain()
        if self._consumer is not None:
            self._consumer.cancel()
            await asyncio.gather(self._consumer, return_exceptions=True)

    async def drain(self) -> None:
        """Wait until every queued write is done."""
        if self._consumer is not None:
            await self._queue.join()

    def bot_turn(self, conversation_id: str, turn: ClientInput, payloads: Sequence[dict[str, Any]]) -> None:
        """Queue the evidence of one bot turn (never raises: evidence must not cost the client an answer)."""
        job = lambda: self.record_turn(conversation_id, turn, payloads)  # noqa: E731
        if self._consumer is None:
            return
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            log.warning("evidence queue full; one bot turn not recorded")

    async def _consume(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception:
                log.exception("recording evidence failed")
            finally:
                self._queue.task_done()

    async def record_turn(self, conversation_id: str, turn: ClientInput, payloads: Sequence[dict[str, Any]]) -> None:
        """Store one bot turn's evidence now."""
        previous = await self._store.latest_offer(conversation_id)
        at = self._clock.now()
        origin: str | None = None
        if isinstance(turn, Rating) and previous is not None and previous.kind is OfferKind.ANSWER:
            await self._rated(previous, turn.resolved)
        elif isinstance(turn, Utterance) and previous is not None and previous.kind is OfferKind.SUGGESTIONS:
            clicked = next((e for e in previous.entries if e.question == turn.text), None)
            if clicked is not None and previous.outcome is None:
                await self._store.set_outcome(previous.id, Outcome.CLICKED, clicked.faq_id, at)
                origin = previous.origin_question or previous.question
        question = turn.text if isinstance(turn, Utterance) else (previous.question if previous else "")
        for payload in payloads:
            kind = payload.get("type")
            if kind not in set(OfferKind):
                continue
            if kind == OfferKind.ESCALATE and previous is not None and previous.kind is not OfferKind.ESCALATE:
                await self._store.mark_escalated(previous.id)
            asked = payload.get("question") if kind == OfferKind.ESCALATE else None
            text = asked if isinstance(asked, str) and asked.strip() else question
            if not text:
                continue
            offer = NewOffer(
                conversation_id=conversation_id,
                question=text,
                kind=OfferKind(kind),
                band=payload.get("band") if isinstance(payload.get("band"), str) else None,
                entries=offered_entries(payload),
                at=at,
                reason=payload.get("reason") if isinstance(payload.get("reason"), str) else None,
                origin_question=origin if origin != text else None,
                index_version=self._version(),
            )
            await self._store.add_offer(offer)

    async def _rated(self, offer: Offer, resolved: bool) -> None:
        if offer.outcome in (Outcome.CONFIRMED, Outcome.UNRESOLVED) or offer.top is None:
            return
        at = self._clock.now()
        outcome = Outcome.CONFIRMED if resolved else Outcome.UNRESOLVED
        await self._store.set_outcome(offer.id, outcome, offer.top.faq_id, at)
        if resolved:
            candidate = NewCandidate(
                kind=CandidateKind.PHRASING,
                text=offer.origin_question or offer.question,
                faq_id=offer.top.faq_id,
                source=Source.CLIENT_CONFIRMED,
                actor=CLIENT_ACTOR,
                at=at,
                conversation_id=offer.conversation_id,
            )
            await self._store.add_candidate(candidate)

    async def label(self, staff_id: str, conversation_id: str, faq_id: str, source: Source, question: str) -> int:
        """A staff member says ``faq_id`` answers ``question`` (使用此答案, or the entry marked when resolving)."""
        candidate = NewCandidate(
            kind=CandidateKind.PHRASING,
            text=question,
            faq_id=faq_id,
            source=source,
            actor=staff_id,
            at=self._clock.now(),
            conversation_id=conversation_id,
        )
        return await self._store.add_candidate(candidate)

    async def question_of(self, conversation_id: str) -> str | None:
        """The client's question tier 1 last handled in this conversation (what staff answer)."""
        offer = await self._store.latest_offer(conversation_id)
        return (offer.origin_question or offer.question) if offer is not None else None
