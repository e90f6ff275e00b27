"""The learning loop of one API worker: evidence recorder, review, live index watch (built by main.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from handoff_api.learning.evidence import EvidenceRecorder
from handoff_api.learning.models import Source
from handoff_api.learning.rebuild import BuildInputs, LiveIndex
from handoff_api.learning.review import Review
from handoff_api.learning.store import LearningStore, SqlLearningStore
from handoff_api.settings import Settings
from knowledge_base.service import FaqService
from routing.service import RoutingService

log = logging.getLogger(__name__)


@dataclass
class LearningLoop:
    """What the routes and the flow use, and the watch task shutdown stops."""

    store: LearningStore
    evidence: EvidenceRecorder
    review: Review
    kb: FaqService | None
    live: LiveIndex | None
    watch_seconds: float
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _nudge: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the evidence writer and the index watch."""
        self.evidence.start()
        if self.live is not None:
            self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        """Finish queued evidence and the current watch pass, then stop."""
        await self.evidence.stop()
        self._stop.set()
        self._nudge.set()
        if self._task is not None:
            await self._task

    def nudge(self) -> None:
        """Run the next watch pass now (after a review batch asked for a build)."""
        self._nudge.set()

    async def _watch(self) -> None:
        assert self.live is not None
        while not self._stop.is_set():
            try:
                await self.live.tick()
            except Exception:
                log.exception("index watch failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudge.wait(), self.watch_seconds)
            self._nudge.clear()

    async def label(self, staff_id: str, conversation_id: str, faq_id: str, source: Source) -> int | None:
        """Store a staff label for the conversation's last question tier 1 handled; None when there is none."""
        question = await self.evidence.question_of(conversation_id)
        if not question:
            return None
        return await self.evidence.label(staff_id, conversation_id, faq_id, source, question)


def build_learning(
    settings: Settings, engine: AsyncEngine, routing: RoutingService, kb: FaqService | None
) -> LearningLoop:
    """The loop over the record's database; without an index there is evidence and review but no swap."""
    store = SqlLearningStore(engine)
    clock = routing.clock
    evidence = EvidenceRecorder(store, clock, (lambda: kb.version) if kb is not None else (lambda: None))

    def known_ids() -> set[str]:
        return {entry.id for entry in kb.entries} if kb is not None else set()

    review = Review(store, routing.audit, known_ids, clock.now)
    live = None
    if kb is not None:
        faq = tuple(Path(part) for part in settings.kb_faq_paths.split(",") if part.strip())
        inputs = BuildInputs(faq, settings.kb_index_dir, settings.learning_index_root)
        timeout = timedelta(seconds=settings.learning_build_timeout_seconds)
        live = LiveIndex(kb, store, inputs, clock, f"worker-{uuid.uuid4().hex[:8]}", timeout)
    return LearningLoop(store, evidence, review, kb, live, settings.learning_watch_seconds)
