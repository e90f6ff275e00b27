"""`python -m handoff_api.bench [--quick] [--cluster] [--out docs/benchmarks.md] [--sections ...]`

Starts the engine under test itself (Rasa and the API on free loopback ports, a temporary database), runs
the bot-turn, idle-memory and routing-claims sections against it and the retrieval comparison
(`python -m knowledge_base.compare`), writes the report and stops everything
it started on every way out (Ctrl-C and SIGTERM included). Loopback only; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from handoff_api.bench.claims import run_claims
from handoff_api.bench.engine import INDEX_DIR, EngineOptions, started_engine
from handoff_api.bench.idle import raise_file_limit, run_idle
from handoff_api.bench.machine import load_average, machine
from handoff_api.bench.plans import FULL, QUICK, Plan
from handoff_api.bench.processes import Supervisor
from handoff_api.bench.report import Report, render
from handoff_api.bench.retrieval import run_retrieval
from handoff_api.bench.tables import duration
from handoff_api.bench.turns import run_turns
from handoff_api.bench.workload import ClientPool, Question, answered_by_index, bench_client_ids, read_questions
from handoff_api.launcher import ROOT
from knowledge_base.service import FaqService
from knowledge_base.settings import KnowledgeBaseSettings

SECTIONS = ("turns", "memory", "claims", "retrieval")
EVAL_QUERIES = ROOT / "knowledge_base" / "data" / "eval" / "queries.jsonl"
DEFAULT_OUT = Path("docs/benchmarks.md")


@dataclass(frozen=True)
class Options:
    """What to run and where to write."""

    quick: bool
    cluster: bool
    out: Path | None
    sections: tuple[str, ...]
    redis_url: str
    postgres_url: str

    @property
    def plan(self) -> Plan:
        """The load sizes."""
        return QUICK if self.quick else FULL

    @property
    def engine(self) -> EngineOptions:
        """One API process and one Rasa on SQLite, or the cluster on Redis and PostgreSQL."""
        if self.cluster:
            return EngineOptions(2, 2, self.redis_url, self.postgres_url, self.plan.clients)
        return EngineOptions(clients=self.plan.clients)

    @property
    def engine_label(self) -> str:
        """The engine under test, in words."""
        if self.cluster:
            return "2 API worker processes and 2 Rasa replicas on Redis and a temporary PostgreSQL database"
        return "1 API process and 1 Rasa server, a temporary SQLite database, in-memory routing stores"


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read the command line (Redis and PostgreSQL default to BENCH_REDIS_URL / BENCH_POSTGRES_URL or loopback)."""
    parser = argparse.ArgumentParser(prog="python -m handoff_api.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seconds of load per section: a smoke run")
    parser.add_argument("--cluster", action="store_true", help="2 API workers + 2 Rasa replicas, Redis, PostgreSQL")
    parser.add_argument(
        "--out", type=Path, help="where to write the report (default: docs/benchmarks.md for a full run, else stdout)"
    )
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a PostgreSQL database where the harness may create and drop its own (for --cluster)",
    )
    args = parser.parse_args(argv)
    sections = tuple(s.strip() for s in args.sections.split(",") if s.strip())
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown or not sections:
        parser.error(f"--sections takes a comma-separated subset of {', '.join(SECTIONS)} (got {args.sections!r})")
    out = args.out if args.out is not None else (DEFAULT_OUT if not (args.quick or args.cluster) else None)
    return Options(args.quick, args.cluster, out, sections, args.redis_url, args.postgres_url)


def progress(line: str) -> None:
    """A progress line on stderr with the time of day."""
    print(time.strftime("%H:%M:%S"), line, file=sys.stderr, flush=True)


async def run(options: Options, command: str) -> Report:
    """Run the chosen sections; a section that fails is reported and the others still run."""
    began = time.monotonic()
    plan = options.plan
    report = Report(machine(), command, options.engine_label)
    supervisor = Supervisor()
    raise_file_limit(4 * plan.idle.connections + 1024)
    limit = asyncio.timeout(plan.limit_seconds)
    try:
        async with limit:
            if "turns" in options.sections or "memory" in options.sections:
                with tempfile.TemporaryDirectory(prefix="tre-bench-") as workdir:
                    await engine_sections(options, report, supervisor, Path(workdir))
            if "claims" in options.sections:
                try:
                    report.claims = await run_claims(options.redis_url, plan.claims, progress)
                except Exception as exc:
                    report.failures.append(f"claims: {type(exc).__name__}: {exc}")
            if "retrieval" in options.sections:
                try:
                    report.retrieval = await run_retrieval(options.quick, progress)
                except Exception as exc:
                    report.failures.append(f"retrieval: {type(exc).__name__}: {exc}")
    except TimeoutError:
        pass
    finally:
        supervisor.close()
    if limit.expired():  # also when a section swallowed the cancellation and finished late
        report.claims = None
        report.failures.append(f"the run passed its limit of {duration(plan.limit_seconds)} and was stopped")
    report.seconds = time.monotonic() - began
    report.load_after = load_average()
    return report


def choose_questions(count: int) -> tuple[FaqService, list[Question]]:
    """Load the FAQ index (also the floor's retrieval, with the engine's query cache, so that repeated questions
    cost the floor what they cost the engine) and pick `count` questions it answers outright."""
    service = FaqService.load(INDEX_DIR, query_cache=KnowledgeBaseSettings().query_cache_size)
    candidates = read_questions(EVAL_QUERIES, 2 * count)
    return service, answered_by_index(candidates, service.retrieve)[:count]


async def engine_sections(options: Options, report: Report, supervisor: Supervisor, workdir: Path) -> None:
    """Start the engine (choosing the questions meanwhile), run the turn and memory sections, stop it."""
    plan = options.plan
    progress(f"starting the engine under test ({options.engine_label}) and choosing the questions")
    choosing = asyncio.ensure_future(asyncio.to_thread(choose_questions, plan.questions))
    try:
        async with started_engine(options.engine, workdir, supervisor) as engine:
            progress(f"engine ready at {engine.base_url}, Rasa at {', '.join(engine.rasa_urls)}")
            service, questions = await choosing
            pool = ClientPool(bench_client_ids(plan.clients))
            if "turns" in options.sections:
                try:
                    report.turns = await run_turns(
                        engine, plan.turns, questions=questions, retrieve=service.retrieve, pool=pool, progress=progress
                    )
                except Exception as exc:
                    report.failures.append(f"turns: {type(exc).__name__}: {exc}")
            if "memory" in options.sections:
                try:
                    report.idle = await run_idle(engine, supervisor, plan.idle, pool, progress)
                except Exception as exc:
                    report.failures.append(f"memory: {type(exc).__name__}: {exc}")
    finally:
        if not choosing.done():
            choosing.cancel()
        await asyncio.gather(choosing, return_exceptions=True)


async def run_until_signalled(options: Options, command: str) -> Report:
    """`run`, cancelled cleanly by SIGTERM as by Ctrl-C (so every child is stopped)."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(options, command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run, write the report, say where; exit 1 if a section failed."""
    options = parse_options(argv)
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = shlex.join(["python", "-m", "handoff_api.bench", *arguments])
    try:
        report = asyncio.run(run_until_signalled(options, command))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("Interrupted; every process the benchmark started has been stopped.", file=sys.stderr)
        return 130
    document = render(report)
    if options.out is None:
        print(document)
    else:
        options.out.parent.mkdir(parents=True, exist_ok=True)
        options.out.write_text(document, encoding="utf-8")
        progress(f"wrote {options.out}")
    for failure in report.failures:
        progress(f"FAILED {failure}")
    return 1 if report.failures else 0
