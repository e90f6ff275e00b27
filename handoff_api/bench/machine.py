"""What the benchmark ran on: cores, CPU model, memory, Pythons, load, commit, date."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from handoff_api.launcher import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


@dataclass(frozen=True)
class Machine:
    """Facts about the machine and the code measured."""

    cores: int
    cpu: str
    memory_gib: float
    python: str
    rasa_python: str
    kernel: str
    load_average: tuple[float, float, float]
    commit: str
    date: str


def _first(path: Path, key: str) -> str:
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    return "unknown"


def _output(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=20, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def commit() -> str:
    """The measured commit, marked when the work tree has changes."""
    head = _output(["git", "rev-parse", "--short", "HEAD"]) or "unknown"
    dirty = _output(["git", "status", "--porcelain", "--untracked-files=no"])
    return f"{head} (with uncommitted changes)" if dirty else head


def load_average() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages."""
    return os.getloadavg()


def machine() -> Machine:
    """Read the facts now."""
    memory_kib = _first(Path("/proc/meminfo"), "MemTotal").split()[0]
    rasa = _output([str(RASA_PYTHON), "--version"]).removeprefix("Python ") or "not found"
    return Machine(
        cores=os.cpu_count() or 0,
        cpu=_first(Path("/proc/cpuinfo"), "model name"),
        memory_gib=int(memory_kib) / 1024 / 1024 if memory_kib.isdigit() else 0.0,
        python=platform.python_version(),
        rasa_python=rasa,
        kernel=platform.release(),
        load_average=load_average(),
        commit=commit(),
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
