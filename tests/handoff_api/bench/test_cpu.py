"""The engine's CPU per process, from /proc: a busy process and its busy children are counted."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from handoff_api.bench.cpu import read_cpu, spent
from handoff_api.bench.load import RunResult, Turn

BURN = (
    "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\nimport sys; sys.stdin.read()"
)


def burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_process_that_burns_cpu_reads_as_spending_it() -> None:
    before = read_cpu({"me": [os.getpid()]})
    burn(0.3)
    used = spent(before, read_cpu({"me": [os.getpid()]}))
    assert 0.25 <= used["me"] <= 1.5


def test_a_server_counts_its_worker_processes() -> None:
    shell = subprocess.Popen(  # a parent that starts a busy child and waits, as uvicorn's supervisor does
        [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {BURN!r}])"],
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while read_cpu({"server": [shell.pid]})["server"] < 0.28:  # the child burns 0.3 s; its parent far less
            assert time.monotonic() < deadline, "the worker's CPU was never counted"
            time.sleep(0.05)
    finally:
        shell.communicate(b"", timeout=20)
    assert read_cpu({"gone": [shell.pid]}) == {"gone": 0.0}


def test_cpu_per_turn_is_over_every_turn_attempted_and_nan_when_unread() -> None:
    run = RunResult("rest", 1, [Turn(10.0), Turn(12.0, "timeout")], seconds=1.0, cpu={"API": 0.05})
    assert run.cpu_ms_per_turn("API") == 25.0
    assert run.cpu_ms_per_turn("Rasa") != run.cpu_ms_per_turn("Rasa")  # NaN
    assert spent({"API": 1.0, "Rasa": 2.0}, {"API": 1.5}) == {"API": 0.5}
