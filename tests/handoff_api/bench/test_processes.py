"""The harness never leaves a process behind: stopping a child stops its whole group."""

from __future__ import annotations

import os
import time
from pathlib import Path

from handoff_api.bench.processes import Supervisor, rss_kib


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


def test_closing_the_supervisor_stops_children_and_their_children(tmp_path: Path) -> None:
    supervisor = Supervisor(grace=1.0)
    child = supervisor.spawn(
        "sleeper", ["bash", "-c", "trap '' TERM; sleep 60 & echo $! > grandchild; wait"], {"PATH": os.environ["PATH"]},
        tmp_path, tmp_path / "sleeper.log",
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not (tmp_path / "grandchild").exists() or not (tmp_path / "grandchild").read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int((tmp_path / "grandchild").read_text())
    assert rss_kib(child.pid) > 0 and alive(grandchild)
    began = time.monotonic()
    supervisor.close()
    assert not child.alive() and not alive(grandchild)
    assert supervisor.running == []
    assert time.monotonic() - began < 8  # SIGTERM is ignored here, so SIGKILL ends it after the grace period
