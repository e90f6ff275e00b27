"""One claiming process of the claims benchmark (started by `handoff_api.bench.claims`).

    python -m handoff_api.bench.claims_worker --redis-url URL --prefix P --claimers N --staff S

Connects to the queue under prefix P, prints `ready`, waits for `go` on stdin, drains the shared queue
with N claimers (staff ids S0, S1, ...), then prints one JSON line: claims, start and end (monotonic
clock, shared by every process of the machine) and each claim's latency in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Sequence

from routing.bench import claim_until_empty
from routing.memory import SystemClock
from routing.redis_ports import connect, redis_ports


async def drain(redis_url: str, prefix: str, claimers: int, staff: str) -> dict[str, object]:
    """Wait for the go line, drain the queue, return the figures."""
    ports = redis_ports(connect(redis_url), SystemClock(), prefix)
    try:
        await ports.client.ping()
        print("ready", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if line.strip() != "go":
            raise SystemExit(f"expected 'go', got {line!r}")
        latencies: list[float] = []
        began = time.monotonic()
        await asyncio.gather(
            *(claim_until_empty(ports.queues, ports.presence, f"{staff}{n}", latencies) for n in range(claimers))
        )
        return {"claims": len(latencies), "began": began, "ended": time.monotonic(), "latencies_ms": latencies}
    finally:
        await ports.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, drain, print."""
    parser = argparse.ArgumentParser(prog="python -m handoff_api.bench.claims_worker", description=__doc__)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--claimers", type=int, required=True)
    parser.add_argument("--staff", required=True)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(drain(args.redis_url, args.prefix, args.claimers, args.staff))), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
