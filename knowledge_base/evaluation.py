"""Labelled query files and retrieval metrics (top-k, MRR, answered precision, latency)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from knowledge_base.calibration import Outcome
from knowledge_base.corpus import CorpusError, Problem
from knowledge_base.models import Band, Hit, Retrieval
from knowledge_base.retriever import SUGGESTION_COUNT, top_margin


@dataclass(frozen=True)
class LabelledQuery:
    """A client question and the entry that should answer it (None: nothing should)."""

    query: str
    expected_id: str | None
    line: int = 0


class QueriesError(CorpusError):
    """A labelled queries file is malformed; ``problems`` lists each ``file:line`` reason."""


def load_queries(path: Path, known_ids: Collection[str] | None = None) -> list[LabelledQuery]:
    """Read ``{"query": ..., "expected_id": ...|null}`` lines; unknown ids are problems when
    ``known_ids`` is given."""
    name = str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QueriesError([Problem(name, 0, f"cannot read queries file: {exc}")]) from exc
    queries: list[LabelledQuery] = []
    problems: list[Problem] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, number, f"malformed JSONL: {exc.msg} (column {exc.colno})"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(name, number, "each line must be a JSON object"))
            continue
        query = data.get("query")
        expected = data.get("expected_id", "__missing__")
        if not isinstance(query, str) or not query.strip():
            problems.append(Problem(name, number, "'query' must be a non-empty string"))
            continue
        if expected == "__missing__":
            problems.append(Problem(name, number, "missing 'expected_id' (an entry id or null)"))
            continue
        if expected is not None and (not isinstance(expected, str) or not expected.strip()):
            problems.append(Problem(name, number, "'expected_id' must be an entry id string or null"))
            continue
        if expected is not None and known_ids is not None and expected not in known_ids:
            problems.append(Problem(name, number, f"expected_id '{expected}' is not in the index"))
            continue
        queries.append(LabelledQuery(query.strip(), expected, number))
    if not queries and not problems:
        problems.append(Problem(name, 0, "queries file holds no queries"))
    if problems:
        raise QueriesError(problems)
    return queries


def outcome_of(hits: Sequence[Hit], expected: str | None) -> Outcome:
    """The calibration view of one retrieval."""
    return Outcome(
        score=hits[0].score if hits else 0.0,
        margin=top_margin(hits),
        top_ids=tuple(hit.entry.id for hit in hits),
        expected=expected,
    )


def _reciprocal_rank(ids: Sequence[str], expected: str, cutoff: int = 10) -> float:
    for rank, entry_id in enumerate(ids[:cutoff], start=1):
        if entry_id == expected:
            return 1.0 / rank
    return 0.0


@dataclass(frozen=True)
class EvalRecord:
    """One evaluated query."""

    query: LabelledQuery
    retrieval: Retrieval
    latency_ms: float

    @property
    def top_ids(self) -> list[str]:
        return [hit.entry.id for hit in self.retrieval.hits]

    @property
    def answered(self) -> bool:
        return self.retrieval.band is Band.ANSWER


def run_queries(retrieve: Callable[[str], Retrieval], queries: Sequence[LabelledQuery]) -> list[EvalRecord]:
    """Retrieve each query one at a time, timing each end to end."""
    records: list[EvalRecord] = []
    for query in queries:
        started = time.perf_counter()
        retrieval = retrieve(query.query)
        elapsed = (time.perf_counter() - started) * 1000.0
        records.append(EvalRecord(query, retrieval, elapsed))
    return records


def share(part: int, whole: int) -> float | None:
    """part / whole to four places; None for an empty whole."""
    return round(part / whole, 4) if whole else None


def summarise(records: Sequence[EvalRecord]) -> dict[str, Any]:
    """Metrics: top-k and MRR@10 and answered rate over answerable queries; answered precision over
    every answered query; the share of null queries not answered; latency percentiles. Tier-1 outcome
    shares over answerable queries: ``answered_right``, ``answered_wrong`` (answered with another entry),
    ``suggested_right`` (suggest band with the right entry among the suggestions) and
    ``tier1_resolvable`` (answered right + suggested right); ``oos_answered`` over null queries."""
    answerable = [r for r in records if r.query.expected_id is not None]
    nulls = [r for r in records if r.query.expected_id is None]
    answered = [r for r in records if r.answered]
    right = [r for r in answered if r.query.expected_id is not None and r.top_ids[0] == r.query.expected_id]

    def in_top(record: EvalRecord, k: int) -> bool:
        return record.query.expected_id in record.top_ids[:k]

    def suggested_right(record: EvalRecord) -> bool:
        return record.retrieval.band is Band.SUGGEST and in_top(record, SUGGESTION_COUNT)

    latencies = np.array([r.latency_ms for r in records], dtype=np.float64)
    mrr = (
        sum(_reciprocal_rank(r.top_ids, r.query.expected_id or "") for r in answerable) / len(answerable)
        if answerable
        else None
    )
    answered_right = sum(r.answered and in_top(r, 1) for r in answerable)
    suggested = sum(suggested_right(r) for r in answerable)
    return {
        "n": len(records),
        "answerable": len(answerable),
        "null": len(nulls),
        "top1": share(sum(in_top(r, 1) for r in answerable), len(answerable)),
        "top3": share(sum(in_top(r, 3) for r in answerable), len(answerable)),
        "mrr10": round(mrr, 4) if mrr is not None else None,
        "answered_rate": share(sum(r.answered for r in answerable), len(answerable)),
        "answered_precision": share(len(right), len(answered)),
        "out_of_scope_rejected": share(sum(not r.answered for r in nulls), len(nulls)),
        "answered_right": share(answered_right, len(answerable)),
        "answered_wrong": share(sum(r.answered and not in_top(r, 1) for r in answerable), len(answerable)),
        "suggested_right": share(suggested, len(answerable)),
        "tier1_resolvable": share(answered_right + suggested, len(answerable)),
        "oos_answered": share(sum(r.answered for r in nulls), len(nulls)),
        "suggested": share(sum(r.retrieval.band is Band.SUGGEST for r in records), len(records)),
        "escalated": share(sum(r.retrieval.band is Band.ESCALATE for r in records), len(records)),
        "latency_ms_p50": round(float(np.percentile(latencies, 50)), 3) if records else None,
        "latency_ms_p95": round(float(np.percentile(latencies, 95)), 3) if records else None,
    }


def summarise_ranking(hits: Sequence[Sequence[Hit]], queries: Sequence[LabelledQuery]) -> dict[str, Any]:
    """Band-free ranking figures over answerable queries: top1, top3 and MRR@10."""
    ranked = [([h.entry.id for h in found], q.expected_id) for found, q in zip(hits, queries, strict=True)]
    answerable = [(ids, expected) for ids, expected in ranked if expected is not None]
    if not answerable:
        return {"top1": None, "top3": None, "mrr10": None}
    count = len(answerable)
    return {
        "top1": round(sum(ids[:1] == [e] for ids, e in answerable) / count, 4),
        "top3": round(sum(e in ids[:3] for ids, e in answerable) / count, 4),
        "mrr10": round(sum(_reciprocal_rank(ids, e) for ids, e in answerable) / count, 4),
    }


def failures(records: Sequence[EvalRecord]) -> list[dict[str, Any]]:
    """Queries answered wrongly, answerable queries not at top-1, and null queries answered."""
    rows: list[dict[str, Any]] = []
    for record in records:
        expected = record.query.expected_id
        top = record.retrieval.top
        wrong_answer = record.answered and (expected is None or record.top_ids[0] != expected)
        missed = expected is not None and (not record.top_ids or record.top_ids[0] != expected)
        if wrong_answer or missed:
            rows.append(
                {
                    "line": record.query.line,
                    "query": record.query.query,
                    "expected_id": expected,
                    "band": record.retrieval.band.value,
                    "top_id": top.entry.id if top else None,
                    "score": round(top.score, 4) if top else None,
                    "matched": top.matched if top else None,
                }
            )
    return rows
