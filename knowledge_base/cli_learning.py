"""Command line, offline learning: ``learn`` (feedback into a new index) and ``gaps`` (clusters of
questions tier 1 could not answer)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from knowledge_base.builder import learn
from knowledge_base.corpus import Problem
from knowledge_base.engine import encode_batched
from knowledge_base.evaluation import QueriesError
from knowledge_base.gaps import DEFAULT_THRESHOLD, Cluster, GapQuestion, cluster_questions, cluster_report, draft_entry
from knowledge_base.learn import phrasing_key


def load_gap_questions(path: Path) -> list[GapQuestion]:
    """Read ``{"query": ..., "answer": ..., "count": ...}`` lines (answer and count optional); identical
    questions are merged (counts summed, the first answer kept)."""
    name = str(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise QueriesError([Problem(name, 0, f"cannot read queries file: {exc}")]) from exc
    merged: dict[str, GapQuestion] = {}
    problems: list[Problem] = []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(name, number, f"malformed JSONL: {exc.msg} (column {exc.colno})"))
            continue
        reason = _gap_line_problem(data)
        if reason is not None:
            problems.append(Problem(name, number, reason))
            continue
        question = GapQuestion(data["query"].strip(), int(data.get("count", 1)), data.get("answer") or None)
        key = phrasing_key(question.text) or question.text
        seen = merged.get(key)
        merged[key] = (
            question
            if seen is None
            else replace(seen, count=seen.count + question.count, answer=seen.answer or question.answer)
        )
    if not merged and not problems:
        problems.append(Problem(name, 0, "queries file holds no questions"))
    if problems:
        raise QueriesError(problems)
    return list(merged.values())


def _gap_line_problem(data: object) -> str | None:
    if not isinstance(data, dict):
        return "each line must be a JSON object"
    if not isinstance(data.get("query"), str) or not data["query"].strip():
        return "'query' must be a non-empty string"
    answer = data.get("answer")
    if answer is not None and not isinstance(answer, str):
        return "'answer' must be a string"
    count = data.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return "'count' must be a positive integer"
    return None


def cmd_learn(args: argparse.Namespace) -> int:
    if args.calibrate is not None and not args.calibrate.is_file():
        from knowledge_base.cli import CliError

        raise CliError(f"calibration file not found: {args.calibrate}")
    result = learn(
        args.index,
        args.feedback,
        args.out,
        calibrate_file=args.calibrate,
        log=lambda message: print(message, file=sys.stderr),
    )
    meta = result.meta
    if result.learned is not None:
        print(result.learned.summary())
        for conflict in result.learned.conflicts:
            print(f"skipped {conflict}", file=sys.stderr)
    from knowledge_base.cli import print_build_summary

    print_build_summary(args.out, meta)
    return 0


def _with_nearest(service: Any, cluster: Cluster) -> tuple[Cluster, dict[str, Any] | None]:
    hits = service.search(cluster.question, k=1)
    if not hits:
        return cluster, None
    top = hits[0]
    nearest = {"id": top.entry.id, "category": top.entry.category.value, "queue": top.entry.queue.value}
    return replace(cluster, nearest_id=top.entry.id, nearest_score=top.score), nearest


def cmd_gaps(args: argparse.Namespace) -> int:
    from knowledge_base.cli import _load_service

    service = _load_service(args.index)
    questions = load_gap_questions(args.queries)
    vectors = encode_batched(service.encoder, [question.text for question in questions])
    clusters = cluster_questions(questions, vectors, args.threshold)[: args.limit]
    rows: list[dict[str, Any]] = []
    for cluster in clusters:
        located, nearest = _with_nearest(service, cluster)
        row = cluster_report(located, args.examples)
        row["draft"] = draft_entry(located, None, nearest)
        rows.append(row)
    if args.json:
        print(
            json.dumps({"questions": sum(q.count for q in questions), "clusters": rows}, ensure_ascii=False, indent=2)
        )
        return 0
    print(f"{sum(q.count for q in questions)} questions, {len(clusters)} clusters (threshold {args.threshold})")
    for rank, row in enumerate(rows, start=1):
        nearest = row["nearest"]
        near = f"{nearest['id']} (score {nearest['score']:.4f})" if nearest else "none"
        print(f"{rank}. {row['size']}x  {row['question']}  [cohesion {row['cohesion']}, nearest entry {near}]")
        for example in row["examples"]:
            print(f"     - {example}")
        for answer in row["answers"]:
            print(f"     answer given: {answer}")
    return 0


def add_learning_commands(commands: Any, settings: Any) -> None:
    """The ``learn`` and ``gaps`` subcommands."""
    p = commands.add_parser(
        "learn",
        help="add resolved client questions as learned phrasings and write a new index",
        description='Read feedback JSONL lines {"query": ..., "faq_id": ...}, add the questions as learned '
        "phrasings of those entries (de-duplicated, with their file:line), retrain the learned scorer and "
        "recalibrate the bands, and write a new index to --out (which may be --index: it is swapped in "
        "atomically). Unknown entries or malformed lines exit with status 2 and write nothing.",
    )
    p.add_argument("--index", type=Path, required=True, metavar="DIR", help="index directory to learn from")
    p.add_argument("--feedback", type=Path, required=True, metavar="FILE", help="feedback JSONL file")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="index directory to write")
    p.add_argument("--calibrate", type=Path, metavar="FILE", help="labelled queries to calibrate on (default: auto)")
    p.set_defaults(handler=cmd_learn)

    p = commands.add_parser(
        "gaps",
        help="cluster questions tier 1 could not answer",
        description='Cluster unanswered or escalated questions (JSONL lines {"query": ..., "answer": <human '
        'answer, optional>, "count": <times asked, optional>}) and list the clusters by size with example '
        "questions, the human answers given, the nearest existing entry and a draft entry.",
    )
    p.add_argument(
        "--index", type=Path, default=settings.index_dir, metavar="DIR", help="index directory (default %(default)s)"
    )
    p.add_argument("--queries", type=Path, required=True, metavar="FILE", help="questions JSONL file")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="merge similarity (default %(default)s)")
    p.add_argument("--examples", type=int, default=5, metavar="N", help="examples per cluster (default %(default)s)")
    p.add_argument("--limit", type=int, default=50, metavar="N", help="clusters to list (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_gaps)
