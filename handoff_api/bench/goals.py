"""The targets of the performance issue, and whether a measured figure meets one (pure)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Metric = Literal["p50", "p95", "per_second", "errors"]


@dataclass(frozen=True)
class Goal:
    """One target: at `clients` clients, `metric` at most (or at least) `value`."""

    clients: int
    metric: Metric
    value: float
    at_least: bool = False

    def met(self, figure: float) -> bool | None:
        """Whether `figure` meets the goal (None when there is no figure)."""
        if not math.isfinite(figure):
            return None
        return figure >= self.value if self.at_least else figure <= self.value

    @property
    def label(self) -> str:
        """The goal as the issue states it."""
        if self.metric == "errors":
            return "no errors"
        unit = " turns/s" if self.metric == "per_second" else " ms"
        return f"{'≥' if self.at_least else '≤'} {self.value:g}{unit}"


TURN_GOALS = (
    Goal(1, "p50", 40),
    Goal(1, "p95", 60),
    Goal(20, "per_second", 60, at_least=True),
    Goal(20, "p95", 250),
    Goal(100, "errors", 0),
    Goal(100, "p95", 1500),
)
"""Bot turns, on REST and on the widget WebSocket alike."""


def goal_for(clients: int, metric: str) -> Goal | None:
    """The issue's target for this client count and figure, if it sets one."""
    return next((g for g in TURN_GOALS if g.clients == clients and g.metric == metric), None)
