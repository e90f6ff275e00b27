"""The harness's command line."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from handoff_api.bench.cli import parse_options, run
from handoff_api.bench.plans import FULL, QUICK
from tests.net import TEST_REDIS_URL


def test_a_full_run_writes_the_docs_page_on_the_embedded_engine() -> None:
    options = parse_options([])
    assert options.out == Path("docs/benchmarks.md")
    assert options.plan is FULL
    assert options.sections == ("turns", "memory", "claims", "retrieval")
    engine = options.engine
    assert (engine.api_workers, engine.rasa_replicas, engine.redis_url, engine.postgres_admin_url) == (1, 1, None, None)


def test_quick_and_cluster_runs_print_unless_told_where_to_write(tmp_path: Path) -> None:
    assert parse_options(["--quick"]).out is None
    assert parse_options(["--quick"]).plan is QUICK
    assert parse_options(["--cluster"]).out is None
    assert parse_options(["--quick", "--out", str(tmp_path / "b.md")]).out == tmp_path / "b.md"


def test_cluster_runs_two_workers_and_two_replicas_on_redis_and_postgres() -> None:
    options = parse_options(
        ["--cluster", "--redis-url", "redis://127.0.0.1:6379/3", "--postgres-url", "postgresql://u@h/db"]
    )
    engine = options.engine
    assert (engine.api_workers, engine.rasa_replicas) == (2, 2)
    assert engine.redis_url == "redis://127.0.0.1:6379/3"
    assert engine.postgres_admin_url == "postgresql://u@h/db"
    assert engine.cluster and "2 API worker processes" in options.engine_label


def test_sections_can_be_chosen() -> None:
    assert parse_options(["--sections", "claims, turns"]).sections == ("claims", "turns")


@pytest.mark.parametrize("sections", ["", "turns,retrieve", "everything"])
def test_unknown_sections_are_refused(sections: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse_options(["--sections", sections])
    assert exit_info.value.code == 2
    assert "--sections" in capsys.readouterr().err


def test_the_full_plan_is_bounded() -> None:
    runs_per_level = 3 * FULL.turns.rounds  # floor, REST, widget
    nominal = sum(shape.budget_seconds for shape in FULL.turns.levels) * runs_per_level
    worst = sum(shape.budget_seconds + FULL.turns.timeout_seconds for shape in FULL.turns.levels) * runs_per_level
    assert nominal <= 8 * 60
    assert worst < FULL.limit_seconds < 15 * 60  # every run overshooting by one timed-out turn
    assert [shape.clients for shape in FULL.turns.levels] == [1, 20, 100]
    assert FULL.idle.connections == 1000
    assert sum(shape.budget_seconds for shape in QUICK.turns.levels) <= 10


@pytest.mark.redis
async def test_a_run_past_its_limit_stops_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("handoff_api.bench.cli.QUICK", dataclasses.replace(QUICK, limit_seconds=0.05))
    options = parse_options(["--quick", "--sections", "claims", "--redis-url", TEST_REDIS_URL])
    began = time.monotonic()
    report = await run(options, "python -m handoff_api.bench --quick")
    assert time.monotonic() - began < 10
    assert report.claims is None
    assert report.failures == ["the run passed its limit of 0 s and was stopped"]
