"""Routing claims per second with one and with two claiming processes on one Redis queue.

The queue is filled once per run; then one process (all the claimers) or two processes (half each),
started beforehand and released together, drain the same queue under one key prefix. The 1-process
run is the baseline; rounds alternate which goes first. A claim is routing.bench's: reserve a slot,
lease the queue head, acknowledge.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from handoff_api.bench.engine import drop_keys
from handoff_api.bench.stats import Summary, summarise
from handoff_api.launcher import ROOT
from routing.bench import QUEUE, fill
from routing.memory import SystemClock
from routing.redis_ports import connect, redis_ports

WORKER_SECONDS = 120.0


@dataclass(frozen=True)
class ClaimPlan:
    """Tickets per run, claimers in all, rounds."""

    tickets: int
    claimers: int
    rounds: int


@dataclass
class ClaimResults:
    """Each round's summary for 1 and 2 processes."""

    plan: ClaimPlan
    runs: dict[int, list[Summary]] = field(default_factory=lambda: {1: [], 2: []})


async def _worker(redis_url: str, prefix: str, claimers: int, staff: str) -> asyncio.subprocess.Process:
    argv = [sys.executable, "-m", "handoff_api.bench.claims_worker", "--redis-url", redis_url]
    argv += ["--prefix", prefix, "--claimers", str(claimers), "--staff", staff]
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


async def claim_run(redis_url: str, processes: int, plan: ClaimPlan) -> Summary:
    """Fill a fresh queue, release `processes` claiming processes at once, return the pooled figures."""
    prefix = f"tre-bench-claims-{uuid.uuid4().hex[:8]}:"
    ports = redis_ports(connect(redis_url), SystemClock(), prefix)
    workers: list[asyncio.subprocess.Process] = []
    try:
        await fill(ports.queues, plan.tickets)
        share = max(1, plan.claimers // processes)
        workers = [await _worker(redis_url, prefix, share, f"w{n}-s") for n in range(processes)]
        async with asyncio.timeout(WORKER_SECONDS):
            for worker in workers:
                assert worker.stdout is not None
                if (await worker.stdout.readline()).strip() != b"ready":
                    raise RuntimeError("a claims worker did not start")
            for worker in workers:
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
                await worker.stdin.drain()
            outputs = [await worker.communicate() for worker in workers]
        reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
        claims = sum(int(r["claims"]) for r in reports)
        if claims != plan.tickets or await ports.queues.length(QUEUE) != 0:
            raise RuntimeError(f"{processes} process(es): {claims} claims for {plan.tickets} tickets")
        seconds = max(float(r["ended"]) for r in reports) - min(float(r["began"]) for r in reports)
        return summarise([ms for r in reports for ms in r["latencies_ms"]], [], seconds)
    finally:
        for worker in workers:
            _kill(worker)
            with contextlib.suppress(ProcessLookupError):
                await worker.wait()
        await ports.close()
        await drop_keys(redis_url, prefix)


async def run_claims(redis_url: str, plan: ClaimPlan, progress: Callable[[str], None]) -> ClaimResults:
    """Alternate 1- and 2-process runs for `plan.rounds` rounds."""
    results = ClaimResults(plan)
    for round_number in range(plan.rounds):
        for processes in (1, 2) if round_number % 2 == 0 else (2, 1):
            summary = await claim_run(redis_url, processes, plan)
            results.runs[processes].append(summary)
            progress(
                f"claims: {processes} process(es) round {round_number + 1}: {summary.per_second:7.0f} claims/s "
                f"p95 {summary.p95:.2f} ms"
            )
    return results
