"""run_every: repeats a pass, survives a failing one, and stops between passes."""

from __future__ import annotations

import asyncio
import logging

import pytest

from handoff_api.periodic import run_every


async def test_passes_repeat_a_failure_is_logged_and_stop_waits_for_the_running_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    passes: list[int] = []

    async def one_pass() -> None:
        passes.append(len(passes))
        if len(passes) == 2:
            raise ConnectionError("database unavailable")
        if len(passes) == 4:
            stop.set()  # set during a pass: the pass still finishes
            await asyncio.sleep(0.01)
            passes.append(-1)

    with caplog.at_level(logging.ERROR):
        await asyncio.wait_for(run_every(0.001, stop, one_pass, "test pass"), timeout=5)
    assert passes == [0, 1, 2, 3, -1]
    assert "test pass failed" in caplog.text and "database unavailable" in caplog.text


async def test_an_already_set_stop_runs_nothing() -> None:
    stop = asyncio.Event()
    stop.set()
    calls: list[None] = []

    async def one_pass() -> None:
        calls.append(None)

    await run_every(60, stop, one_pass, "never")
    assert calls == []
