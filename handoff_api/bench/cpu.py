"""CPU time of the engine's processes, read from /proc: what one bot turn costs each process.

A server's figure includes its descendants (uvicorn's worker processes), so a cluster's API counts every
worker. On a system without /proc the readings are empty and the report leaves the figures out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state is the first), or None if gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _children_by_parent() -> dict[int, list[int]]:
    """Every live process's children."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _tree(pid: int, children: Mapping[int, list[int]]) -> list[int]:
    """`pid` and all its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def cpu_seconds(pid: int, children: Mapping[int, list[int]]) -> float:
    """User plus system CPU seconds of `pid` and its live descendants."""
    ticks = 0
    for member in _tree(pid, children):
        fields = _stat_fields(member)
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def read_cpu(groups: Mapping[str, Iterable[int]]) -> dict[str, float]:
    """CPU seconds so far per named group of processes ({} without /proc)."""
    if not (PROC / "self" / "stat").exists():
        return {}
    children = _children_by_parent()
    return {name: sum(cpu_seconds(pid, children) for pid in pids) for name, pids in groups.items()}


def spent(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """CPU seconds each group spent between two readings (only groups read both times)."""
    return {name: after[name] - before[name] for name in before.keys() & after.keys()}
