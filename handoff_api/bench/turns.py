"""Bot turns at several client counts over REST and the widget WebSocket, each beside the floor.

For every level the three runs (floor, REST, widget) are interleaved round by round, the order rotating,
so a burst of noise on the shared machine hits all three alike. The questions are checked first: only
those the index answers outright and the bot answers over REST (no hand-over) are used. A warm-up at the widest
level's client count opens the connections first, so the rounds measure a steady state, not connecting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from handoff_api.bench.cpu import spent
from handoff_api.bench.load import LoadShape, RunResult, Session, drive
from handoff_api.bench.sessions import FloorTarget, RestTarget, WidgetTarget
from handoff_api.bench.workload import GREETINGS, ClientPool, Question, Script
from handoff_api.http_clients import OneConnectionClients
from handoff_api.settings import RASA_KEEPALIVE_SECONDS
from handoff_api.startup import freeze_startup_heap
from knowledge_base.models import Retrieval

KINDS = ("floor", "rest", "widget")


class Endpoints(Protocol):
    """Where the engine under test listens (the harness's Engine, or a test's in-process app)."""

    @property
    def base_url(self) -> str: ...

    @property
    def ws_base(self) -> str: ...

    @property
    def rasa_urls(self) -> list[str]: ...

    def token(self, client_id: str) -> str: ...

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far of the engine's processes by name ({} when they cannot be read)."""
        ...


Progress = Callable[[str], None]


@dataclass(frozen=True)
class TurnPlan:
    """The levels to run, how many rounds each, and the per-turn timeout."""

    levels: tuple[LoadShape, ...]
    rounds: int
    timeout_seconds: float = 15.0
    """Past the API's 10 s Rasa timeout (after which it answers from its own index), so only a hang times out."""


@dataclass
class LevelResult:
    """Every round of the three runs at one client count."""

    shape: LoadShape
    runs: dict[str, list[RunResult]] = field(default_factory=lambda: {kind: [] for kind in KINDS})


@dataclass
class TurnResults:
    """The whole turn suite: the questions used and every level."""

    questions: list[str]
    rejected: list[tuple[str, str]]
    levels: list[LevelResult]


def rotated(kinds: Sequence[str], round_number: int) -> list[str]:
    """The run order of one round: each kind goes first in turn."""
    shift = round_number % len(kinds)
    return [*kinds[shift:], *kinds[:shift]]


async def checked_questions(
    clients: OneConnectionClients, engine: Endpoints, pool: ClientPool, questions: Sequence[Question], seconds: float
) -> tuple[list[str], list[tuple[str, str]]]:
    """The texts the bot answers over REST (each alone in a conversation), and the rejected ones with why."""
    target = RestTarget(clients, engine.base_url, engine.token, pool, seconds)
    texts = [*GREETINGS[:1], *(q.text for q in questions)]
    gate = asyncio.Semaphore(4)

    async def check(text: str) -> tuple[str, str | None]:
        async with gate:
            turns = await target.session([text])
            return text, (turns[-1].error if turns else "no turn")

    verdicts = await asyncio.gather(*(check(text) for text in texts))
    kept = [text for text, error in verdicts if error is None and text not in GREETINGS]
    return kept, [(text, error) for text, error in verdicts if error is not None]


async def measured_drive(engine: Endpoints, kind: str, shape: LoadShape, script: Script, session: Session) -> RunResult:
    """`drive`, with the CPU each process (and this harness) spent during the run."""
    before = {**engine.cpu_seconds(), "harness": time.process_time()}
    run = await drive(kind, shape, script, session)
    run.cpu = spent(before, {**engine.cpu_seconds(), "harness": time.process_time()})
    return run


async def run_turns(
    engine: Endpoints,
    plan: TurnPlan,
    *,
    questions: Sequence[Question],
    retrieve: Callable[[str], Retrieval],
    pool: ClientPool,
    progress: Progress,
) -> TurnResults:
    """Check the questions, warm every path up once, then run each level's rounds."""
    clients = OneConnectionClients()  # each session its own connection, as every real client has
    # The floor stands for Rasa alone, so it keeps its connections to Rasa as the API does: one opened while Rasa is
    # busy waits until Rasa catches up, and reconnecting each round measured that wait, not the floor.
    floor_clients = OneConnectionClients(keepalive_seconds=RASA_KEEPALIVE_SECONDS)
    try:
        kept, rejected = await checked_questions(clients, engine, pool, questions, plan.timeout_seconds)
        if not kept:
            raise RuntimeError(f"the bot answered none of the benchmark questions: {rejected[:5]}")
        progress(f"turns: {len(kept)} questions answered by the bot, {len(rejected)} rejected")
        script = Script(kept)
        sessions: dict[str, Session] = {
            "floor": FloorTarget(floor_clients, engine.rasa_urls, retrieve, script, plan.timeout_seconds).session,
            "rest": RestTarget(clients, engine.base_url, engine.token, pool, plan.timeout_seconds).session,
            "widget": WidgetTarget(engine.ws_base, engine.token, pool, plan.timeout_seconds).session,
        }
        widest = max(shape.clients for shape in plan.levels)
        for kind in KINDS:  # warm-up: as many connections as the widest level, first conversations, lazy imports
            await drive(kind, LoadShape(widest, 2, 2, 30.0), script, sessions[kind])
        freeze_startup_heap()  # as the engine does: else the harness's own full collections stall every client
        levels: list[LevelResult] = []
        for shape in plan.levels:
            level = LevelResult(shape)
            for round_number in range(plan.rounds):
                for kind in rotated(KINDS, round_number):
                    run = await measured_drive(engine, kind, shape, script, sessions[kind])
                    level.runs[kind].append(run)
                    s = run.summary()
                    progress(
                        f"turns: {shape.clients:>3} clients {kind:<6} round {round_number + 1}: "
                        f"{s.per_second:6.1f} turns/s p50 {s.p50:7.1f} ms p95 {s.p95:7.1f} ms errors {s.errors}"
                    )
            levels.append(level)
    finally:
        await asyncio.gather(clients.aclose(), floor_clients.aclose())
    return TurnResults(kept, rejected, levels)
