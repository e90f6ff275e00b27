"""How much load each section applies: the full run and the `--quick` smoke run."""

from __future__ import annotations

from dataclasses import dataclass

from handoff_api.bench.claims import ClaimPlan
from handoff_api.bench.idle import IdlePlan
from handoff_api.bench.load import LoadShape
from handoff_api.bench.turns import TurnPlan


@dataclass(frozen=True)
class Plan:
    """Every section's sizes, and how many FAQ questions and directory clients to prepare."""

    turns: TurnPlan
    claims: ClaimPlan
    idle: IdlePlan
    questions: int
    clients: int
    limit_seconds: float
    """The whole run is stopped (and reported as failed) past this."""


FULL = Plan(
    turns=TurnPlan(
        levels=(
            LoadShape(clients=1, turns_per_client=30, session_turns=4, budget_seconds=6.0),
            LoadShape(clients=20, turns_per_client=20, session_turns=4, budget_seconds=10.0),
            LoadShape(clients=100, turns_per_client=8, session_turns=4, budget_seconds=16.0),
        ),
        rounds=3,
    ),
    claims=ClaimPlan(tickets=3000, claimers=32, rounds=3),
    idle=IdlePlan(connections=1000, rounds=2, settle_seconds=3.0),
    questions=40,
    clients=1500,
    limit_seconds=14 * 60,
)
"""About seven minutes on two quiet cores, ten on busy ones."""

QUICK = Plan(
    turns=TurnPlan(
        levels=(
            LoadShape(clients=1, turns_per_client=3, session_turns=3, budget_seconds=3.0),
            LoadShape(clients=2, turns_per_client=3, session_turns=3, budget_seconds=3.0),
        ),
        rounds=1,
    ),
    claims=ClaimPlan(tickets=300, claimers=8, rounds=1),
    idle=IdlePlan(connections=50, rounds=1, settle_seconds=0.5),
    questions=8,
    clients=120,
    limit_seconds=5 * 60,
)
"""Seconds of load (plus the servers' start-up): checks that every section runs."""
