"""Gap listing: questions the bot escalated or clients marked unresolved, clustered with the live encoder
(knowledge_base.gaps), with the human answers given and the nearest entry."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from handoff_api.learning.store import LearningStore
from handoff_api.masking import mask_text
from knowledge_base.engine import encode_batched
from knowledge_base.gaps import (
    DEFAULT_THRESHOLD,
    MAX_QUESTIONS,
    GapQuestion,
    cluster_questions,
    cluster_report,
    draft_entry,
)
from knowledge_base.service import FaqService


def gap_questions(rows: list[Any]) -> list[GapQuestion]:
    """Rows of the store as clustering input: identical questions counted together, answers kept."""
    counted: dict[str, GapQuestion] = {}
    for row in rows:
        question = mask_text(row.question.strip())
        if not question:
            continue
        answer = mask_text(row.answer) if row.answer else None
        held = counted.get(question)
        if held is None:
            counted[question] = GapQuestion(question, 1, answer)
        else:
            counted[question] = replace(held, count=held.count + 1, answer=held.answer or answer)
    return list(counted.values())


def clusters(questions: list[GapQuestion], kb: FaqService, threshold: float, limit: int) -> list[dict[str, Any]]:
    """Clusters by size (blocking: encodes; run it in a thread), each with examples, answers, the nearest
    entry and a draft entry for 起草FAQ."""
    if not questions:
        return []
    vectors = encode_batched(kb.encoder, [question.text for question in questions])
    found: list[dict[str, Any]] = []
    for found_cluster in cluster_questions(questions, vectors, threshold)[:limit]:
        cluster = found_cluster
        hits = kb.search(cluster.question, k=1)
        nearest = None
        if hits:
            top = hits[0]
            nearest = {"id": top.entry.id, "category": top.entry.category.value, "queue": top.entry.queue.value}
            cluster = replace(cluster, nearest_id=top.entry.id, nearest_score=top.score)
        report = cluster_report(cluster)
        report["draft"] = draft_entry(cluster, None, nearest)
        if nearest is not None and report["nearest"] is not None:
            report["nearest"]["question"] = hits[0].entry.question
        found.append(report)
    return found


async def list_gaps(
    store: LearningStore, kb: FaqService, threshold: float = DEFAULT_THRESHOLD, limit: int = 50
) -> dict[str, Any]:
    """The gap view: how many questions, and the clusters."""
    questions = gap_questions(await store.gap_questions(MAX_QUESTIONS))
    found = await asyncio.to_thread(clusters, questions, kb, threshold, limit)
    return {"questions": sum(q.count for q in questions), "clusters": found}
