"""Assignment benchmark: claims per second and claim latency on Redis, with memory as a baseline.

    python -m routing.bench [--redis-url redis://127.0.0.1:6379/0] [--tickets 5000] [--concurrency 32]

One claim is what an assignment costs the shared stores: reserve a slot of the least-loaded staff
member (atomic), lease the head of the queue (atomic), acknowledge the lease. The queue is filled
first with a VIP/ordinary mix; the keys live under a throw-away prefix deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from routing.memory import SystemClock, memory_ports
from routing.models import QueueName
from routing.ports import PresenceStore, QueueEntry, QueueStore
from routing.redis_ports import connect, redis_ports

QUEUE = QueueName.ADVISOR


@dataclass(frozen=True)
class Result:
    """Figures of one backend."""

    backend: str
    claims: int
    seconds: float
    enqueue_per_second: float
    latencies_ms: Sequence[float]

    @property
    def claims_per_second(self) -> float:
        return self.claims / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)] if ordered else 0.0


async def fill(queues: QueueStore, tickets: int) -> None:
    """Enqueue `tickets` tickets with a VIP/ordinary mix, oldest first."""
    start = SystemClock().now()
    for number in range(tickets):
        priority = 1002 if number % 10 == 0 else number % 3
        await queues.enqueue(
            QueueEntry(f"t{number}", f"c{number}", QUEUE, priority, start + timedelta(microseconds=number))
        )


async def claim_until_empty(queues: QueueStore, presence: PresenceStore, staff_id: str, latencies: list[float]) -> None:
    """Claim (reserve a slot, lease the head, acknowledge) until the queue is empty; append each claim's ms."""
    while True:
        t0 = time.perf_counter()
        if not await presence.reserve(staff_id, 1_000_000):
            return
        lease = await queues.claim_head(QUEUE, staff_id, 30)
        if lease is None:
            await presence.release(staff_id)
            return
        await queues.ack(lease.entry.ticket_id, staff_id)
        latencies.append((time.perf_counter() - t0) * 1000)


async def run(backend: str, queues: QueueStore, presence: PresenceStore, tickets: int, concurrency: int) -> Result:
    """Fill the queue, then let `concurrency` claimers drain it; time every claim."""
    began = time.perf_counter()
    await fill(queues, tickets)
    enqueue_rate = tickets / (time.perf_counter() - began)
    staff = [f"s{number}" for number in range(concurrency)]
    latencies: list[float] = []
    began = time.perf_counter()
    await asyncio.gather(*(claim_until_empty(queues, presence, staff_id, latencies) for staff_id in staff))
    elapsed = time.perf_counter() - began
    if len(latencies) != tickets or await queues.length(QUEUE) != 0:
        raise RuntimeError(f"{backend}: {len(latencies)} claims for {tickets} tickets; the queue is not empty")
    return Result(backend, len(latencies), elapsed, enqueue_rate, latencies)


def report(results: Sequence[Result], concurrency: int) -> str:
    """A small table of the figures."""
    lines = [
        f"assignment benchmark ({concurrency} concurrent claimers; claim = reserve + lease head + ack)",
        f"{'backend':<8} {'claims':>7} {'claims/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'enqueue/s':>10}",
    ]
    for r in results:
        lines.append(
            f"{r.backend:<8} {r.claims:>7} {r.claims_per_second:>10.0f} {statistics.median(r.latencies_ms):>8.3f} "
            f"{r.percentile(0.95):>8.3f} {r.percentile(0.99):>8.3f} {r.enqueue_per_second:>10.0f}"
        )
    return "\n".join(lines)


async def main(redis_url: str, tickets: int, concurrency: int) -> str:
    """Run memory then Redis and return the report."""
    clock = SystemClock()
    memory = memory_ports(clock)
    results = [await run("memory", memory.queues, memory.presence, tickets, concurrency)]
    prefix = f"tre-bench-{uuid.uuid4().hex[:8]}:"
    client = connect(redis_url)
    ports = redis_ports(client, clock, prefix)
    try:
        results.append(await run("redis", ports.queues, ports.presence, tickets, concurrency))
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await ports.close()
    return report(results, concurrency)


def cli(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run, print."""
    parser = argparse.ArgumentParser(prog="python -m routing.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    if args.tickets < 1 or args.concurrency < 1:
        parser.error("--tickets and --concurrency must be positive")
    print(asyncio.run(main(args.redis_url, args.tickets, args.concurrency)))


if __name__ == "__main__":
    cli()
