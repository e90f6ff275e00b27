"""Memory per idle widget connection: a fresh API process's RSS before and after N idle connections.

Widget: N authenticated WebSockets, each opened with a directory client's token, `resume` sent, then
left idle. Baseline: N plain TCP connections to the same kind of process (accepted, never a byte sent).
Each measurement gets its own fresh single-process API (same database, index and settings as the
engine under test), warmed up by a few widget sessions, so freed memory of one kind never serves the
other; rounds alternate which kind goes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException
from websockets.protocol import State

from handoff_api.bench.engine import Engine, spawn_api
from handoff_api.bench.processes import Spawned, Supervisor, rss_kib
from handoff_api.bench.sessions import resume
from handoff_api.bench.workload import ClientPool

KINDS = ("widget", "tcp")
OPEN_AT_ONCE = 32
WARM_SESSIONS = 5
READY_SECONDS = 120.0


@dataclass(frozen=True)
class IdlePlan:
    """Connections per measurement, rounds, and how long to let the process settle before reading RSS."""

    connections: int
    rounds: int
    settle_seconds: float = 2.0


@dataclass(frozen=True)
class IdleSample:
    """One measurement: RSS (KiB) before and with the connections open, and how many opened."""

    kind: str
    before_kib: int
    after_kib: int
    opened: int

    @property
    def per_connection_kib(self) -> float:
        """RSS growth per open connection."""
        return (self.after_kib - self.before_kib) / self.opened if self.opened else float("nan")


@dataclass
class IdleResults:
    """Every measurement of both kinds."""

    plan: IdlePlan
    samples: dict[str, list[IdleSample]] = field(default_factory=lambda: {kind: [] for kind in KINDS})


def raise_file_limit(wanted: int) -> int:
    """Raise this process's open-file soft limit towards `wanted` (children inherit it); the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft if soft != resource.RLIM_INFINITY else wanted
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


async def steady_rss(pid: int, settle: float) -> int:
    """The median of three RSS readings after `settle` seconds of quiet."""
    await asyncio.sleep(settle)
    readings = []
    for _ in range(3):
        readings.append(rss_kib(pid))
        await asyncio.sleep(0.3)
    return int(statistics.median(readings))


async def _ready(base_url: str, child: Spawned) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_SECONDS
    async with httpx.AsyncClient(timeout=2.0) as http:
        while loop.time() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited:\n{child.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{base_url}/health/live")).status_code == 200:
                    return
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{child.name} did not start within {READY_SECONDS:.0f}s")


async def open_widgets(
    url: str, count: int, token_for: Callable[[str], str], pool: ClientPool
) -> list[ClientConnection]:
    """Open `count` widget sockets (resumed, then idle), OPEN_AT_ONCE at a time; the ones that opened."""
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one() -> ClientConnection | None:
        async with gate:
            ws: ClientConnection | None = None
            try:
                ws = await connect(
                    f"{url}/ws/widget?token={token_for(pool.next())}", open_timeout=30, ping_interval=None
                )
                async with asyncio.timeout(30):
                    await resume(ws)
                return ws
            except (OSError, TimeoutError, WebSocketException):
                if ws is not None:
                    await ws.close()
                return None

    opened = await asyncio.gather(*(one() for _ in range(count)))
    return [ws for ws in opened if ws is not None]


async def open_tcp(port: int, count: int) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """Open `count` plain TCP connections that never send a byte; the ones that opened."""
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for _ in range(count):
        with contextlib.suppress(OSError):
            streams.append(await asyncio.open_connection("127.0.0.1", port))
    return streams


async def measure(kind: str, engine: Engine, supervisor: Supervisor, plan: IdlePlan, pool: ClientPool) -> IdleSample:
    """One fresh API process, warmed up; RSS before and with `plan.connections` idle connections of `kind`."""
    child, port = spawn_api(engine, supervisor, f"api-idle-{kind}")
    try:
        await _ready(f"http://127.0.0.1:{port}", child)
        url = f"ws://127.0.0.1:{port}"
        for ws in await open_widgets(url, WARM_SESSIONS, engine.token, pool):
            await ws.close()
        before = await steady_rss(child.pid, plan.settle_seconds)
        if kind == "widget":
            sockets = await open_widgets(url, plan.connections, engine.token, pool)
            after = await steady_rss(child.pid, plan.settle_seconds)
            opened = sum(ws.state == State.OPEN for ws in sockets)  # still open when RSS was read
            await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        else:
            streams = await open_tcp(port, plan.connections)
            after = await steady_rss(child.pid, plan.settle_seconds)
            opened = sum(not reader.at_eof() for reader, _ in streams)
            for _, writer in streams:
                writer.close()
        return IdleSample(kind, before, after, opened)
    finally:
        supervisor.stop(child)


async def run_idle(
    engine: Engine, supervisor: Supervisor, plan: IdlePlan, pool: ClientPool, progress: Callable[[str], None]
) -> IdleResults:
    """`plan.rounds` rounds of both kinds, alternating which goes first."""
    raise_file_limit(4 * plan.connections + 1024)
    results = IdleResults(plan)
    for round_number in range(plan.rounds):
        for kind in KINDS if round_number % 2 == 0 else KINDS[::-1]:
            sample = await measure(kind, engine, supervisor, plan, pool)
            results.samples[kind].append(sample)
            progress(
                f"memory: {kind:<6} round {round_number + 1}: {sample.opened} open, "
                f"{sample.before_kib / 1024:.1f} -> {sample.after_kib / 1024:.1f} MiB, "
                f"{sample.per_connection_kib:.1f} KiB each"
            )
    return results
