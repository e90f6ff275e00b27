"""Child processes the harness starts: each in its own process group, all stopped on every way out."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

STOP_SECONDS = 15.0


@dataclass
class Spawned:
    """One started child: its process (the leader of its own group) and where its output goes."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        """The child's pid (also its process group id)."""
        return self.process.pid

    def alive(self) -> bool:
        """Whether the child still runs."""
        return self.process.poll() is None

    def tail(self, lines: int = 30) -> str:
        """The last lines the child printed."""
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as handle:
                return "".join(deque(handle, maxlen=lines))
        except OSError:
            return ""


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send `sig` to the process group led by `pid` (gone or not ours: nothing)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def stop(child: Spawned, grace: float = STOP_SECONDS) -> None:
    """SIGTERM the child's whole group, then SIGKILL the group if anything is left after `grace` seconds."""
    signal_group(child.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.process.wait(grace)
    signal_group(child.pid, signal.SIGKILL)  # grandchildren (uvicorn workers, Rasa's helpers) too
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.process.wait(5)


class Supervisor:
    """Starts children and stops every one of them on close, at interpreter exit at the latest."""

    def __init__(self, grace: float = STOP_SECONDS) -> None:
        self._grace = grace
        self._children: list[Spawned] = []
        atexit.register(self.close)

    def spawn(self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, log_path: Path) -> Spawned:
        """Start `argv` in a new session (its own process group), output to `log_path`."""
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        child = Spawned(name, process, log_path)
        self._children.append(child)
        return child

    def stop(self, child: Spawned) -> None:
        """Stop one child now."""
        stop(child, self._grace)
        if child in self._children:
            self._children.remove(child)

    def close(self) -> None:
        """Stop every child still running, newest first."""
        while self._children:
            self.stop(self._children[-1])

    @property
    def running(self) -> list[Spawned]:
        """The children not stopped yet."""
        return list(self._children)


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")
