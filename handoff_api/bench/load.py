"""The closed-loop load generator: virtual clients running sessions of turns until a count or a deadline.

Each virtual client opens a session (a conversation of its own, from a fresh directory client), says the
session's texts one after the other, waiting for each answer, then opens the next session, until it has
made its share of turns or the run's time budget is spent (then every client stops after its current
turn, so a run overshoots its budget by at most one turn).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from handoff_api.bench.stats import Summary, summarise
from handoff_api.bench.workload import Script


@dataclass(frozen=True)
class Turn:
    """One client turn: its latency, why it failed (None: it counts) and optional timed parts."""

    latency_ms: float
    error: str | None = None
    parts: tuple[tuple[str, float], ...] = ()


Expired = Callable[[], bool]
"""True once the run's time budget is spent: a session then stops before its next turn."""
Session = Callable[[list[str], Expired], Awaitable[list[Turn]]]
"""Runs one session's texts and returns its turns (a session cut short ends with its failed turn)."""


@dataclass(frozen=True)
class LoadShape:
    """How many virtual clients, how many turns each, turns per session and the time budget."""

    clients: int
    turns_per_client: int
    session_turns: int
    budget_seconds: float

    def __post_init__(self) -> None:
        if min(self.clients, self.turns_per_client, self.session_turns) < 1 or self.budget_seconds <= 0:
            raise ValueError(f"a load shape needs positive sizes and budget: {self}")


@dataclass
class RunResult:
    """Every turn of one run and its wall time."""

    kind: str
    clients: int
    turns: list[Turn] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds each process spent during the run ("API", "Rasa", "harness"), where they could be read."""

    def summary(self) -> Summary:
        """Turns/s, percentiles of the turns that counted and the errors."""
        ok = [t.latency_ms for t in self.turns if t.error is None]
        return summarise(ok, [t.error for t in self.turns if t.error is not None], self.seconds)

    def cpu_ms_per_turn(self, process: str) -> float:
        """Milliseconds of `process`'s CPU per turn attempted (NaN if unread or no turn)."""
        if process not in self.cpu or not self.turns:
            return math.nan
        return 1000 * self.cpu[process] / len(self.turns)

    def part(self, name: str) -> list[float]:
        """The timings of one named part (e.g. the floor's "rasa" and "retrieve") over the turns that counted."""
        return [ms for t in self.turns if t.error is None for key, ms in t.parts if key == name]


async def drive(kind: str, shape: LoadShape, script: Script, session: Session) -> RunResult:
    """Run `shape.clients` virtual clients against `session` and collect every turn."""
    result = RunResult(kind, shape.clients)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + shape.budget_seconds
    stagger = min(0.5, shape.budget_seconds / 10) / shape.clients

    def expired() -> bool:
        return loop.time() >= deadline

    async def virtual_client(number: int) -> None:
        await asyncio.sleep(number * stagger)
        made = 0
        while made < shape.turns_per_client and not expired():
            texts = script.session(min(shape.session_turns, shape.turns_per_client - made))
            turns = await session(texts, expired)
            result.turns.extend(turns)
            made += max(len(turns), 1)

    began = time.perf_counter()
    await asyncio.gather(*(virtual_client(number) for number in range(shape.clients)))
    result.seconds = time.perf_counter() - began
    return result


def elapsed_ms(since: float) -> float:
    """Milliseconds since a perf_counter reading."""
    return (time.perf_counter() - since) * 1000
