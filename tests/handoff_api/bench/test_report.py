"""Rendering the report from measured results (made up here, so every cell is known)."""

from __future__ import annotations

from handoff_api.bench.claims import ClaimPlan, ClaimResults
from handoff_api.bench.idle import IdlePlan, IdleResults, IdleSample
from handoff_api.bench.load import LoadShape, RunResult, Turn
from handoff_api.bench.machine import Machine
from handoff_api.bench.report import Report, render
from handoff_api.bench.stats import Spread, summarise
from handoff_api.bench.tables import duration, number, spread_cell, table
from handoff_api.bench.turns import LevelResult, TurnResults

MACHINE = Machine(2, "Test CPU", 23.5, "3.11.7", "3.10.13", "6.1", (1.0, 2.0, 3.0), "abc1234", "2026-01-02 03:04 UTC")


def run(
    kind: str, clients: int, latency: float, *, turns: int = 10, errors: int = 0, seconds: float = 1.0
) -> RunResult:
    made = [Turn(latency, parts=(("rasa", latency / 2), ("retrieve", latency / 4))) for _ in range(turns)]
    made += [Turn(15000.0, "timeout") for _ in range(errors)]
    return RunResult(kind, clients, made, seconds)


def level(clients: int, rest: list[float], widget: list[float], floor: list[float], errors: int = 0) -> LevelResult:
    result = LevelResult(LoadShape(clients, 10, 4, 5.0))
    result.runs["rest"] = [run("rest", clients, ms, errors=errors) for ms in rest]
    result.runs["widget"] = [run("widget", clients, ms) for ms in widget]
    result.runs["floor"] = [run("floor", clients, ms) for ms in floor]
    return result


def report() -> Report:
    turns = TurnResults(
        questions=["q1", "q2"],
        rejected=[("q3", "escalated")],
        levels=[
            level(1, [150.0, 160.0, 140.0], [30.0, 35.0, 38.0], [100.0, 100.0, 100.0]),
            level(100, [900.0], [800.0], [400.0], errors=2),
        ],
    )
    claims = ClaimResults(ClaimPlan(100, 4, 1))
    claims.runs[1].append(summarise([1.0, 2.0, 3.0], [], 0.01))
    claims.runs[2].append(summarise([1.0, 2.0, 3.0], [], 0.005))
    idle = IdleResults(IdlePlan(1000, 1))
    idle.samples["widget"].append(IdleSample("widget", 200 * 1024, 200 * 1024 + 88_000, 1000))
    idle.samples["tcp"].append(IdleSample("tcp", 200 * 1024, 200 * 1024 + 4_000, 1000))
    return Report(MACHINE, "python -m handoff_api.bench", "1 API process", 600.0, (0.5, 1.0, 1.5), turns, claims, idle)


def test_every_turn_figure_stands_beside_the_floor_with_its_ratio_and_target() -> None:
    document = render(report())
    assert "| 1 | p50 ms | 150 [140–160] | 100 | 1.50× [1.40–1.60] | ≤ 40 ms | **no** |" in document
    assert "| 1 | p50 ms | 35.0 [30.0–38.0] | 100 | 0.35× [0.30–0.38] | ≤ 40 ms | yes |" in document
    assert "| 1 | turns/s | 10.0 | 10.0 | 1.00× | – | – |" in document
    assert "| 100 | errors | 2 of 12 | 0 of 10 | – | no errors | **no** |" in document
    assert "| 100 | p95 ms | 900 | 400 | 2.25× | ≤ 1500 ms | yes |" in document
    assert "- 100 clients, REST: 2 × timeout" in document
    assert "- q3 (escalated)" in document  # a candidate question the bot handed over is named, not used


def test_the_headline_gives_p50_over_the_floor_per_path() -> None:
    document = render(report())
    assert "| 1 | 150 [140–160] | 150 [140–160] | 10.0 | 1.50× [1.40–1.60] | 35.0 [30.0–38.0] |" in document
    assert "| 1 | 50.0 | 50.0 | 25.0 | 25.0 |" in document  # the floor's parts: Rasa and retrieval


def test_claims_and_memory_tables_give_the_ratio_to_their_baseline() -> None:
    document = render(report())
    assert "| claims/s | 600 | 300 | 2.00× |" in document
    assert "| KiB per idle connection | 88.0 | 4.00 | 22.00× |" in document
    assert "| connections still open when read | 1,000 | 1,000 | – |" in document


def test_the_report_names_machine_and_commands() -> None:
    document = render(report())
    for needle in (
        "## How to read this",
        "| CPU | Test CPU |",
        "| run time | 10 min 0 s |",
        "make bench",
        "python -m knowledge_base.compare --json",
    ):
        assert needle in document
    assert "Sections that failed" not in document
    assert "## 4." not in document  # not run: no section


def test_failed_and_skipped_sections_are_said_so() -> None:
    broken = Report(
        MACHINE, "python -m handoff_api.bench", "1 API process", failures=["claims: ConnectionError: refused"]
    )
    document = render(broken)
    assert "- claims: ConnectionError: refused" in document
    assert "## 1. Bot turns" not in document and "## 2." not in document


def test_cells_and_tables() -> None:
    assert number(1234.5) == "1,234" or number(1234.5) == "1,235"
    assert number(float("nan")) == "–"
    assert spread_cell(Spread(2.0, 1.0, 3.0)) == "2.00 [1.00–3.00]"
    assert table(["a", "b"], [["x|y", "1"]]) == "| a | b |\n|:---|---:|\n| x\\|y | 1 |"
    assert duration(59.6) == "1 min 0 s" and duration(42) == "42 s"
