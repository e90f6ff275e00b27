"""Retrieval figures: `python -m knowledge_base.compare --json` run as a child process, its JSON read back.

The child runs with the API environment's Python (this process's), from the repository root; it is
killed (its whole process group) when the run is cancelled or passes its limit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shlex
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from handoff_api.bench.processes import signal_group
from handoff_api.launcher import ROOT

FULL_TIMEOUT_SECONDS = 8 * 60.0
QUICK_TIMEOUT_SECONDS = 3 * 60.0
REQUIRED_KEYS = ("methods", "scale", "rejection_rate")


@dataclass(frozen=True)
class RetrievalResults:
    """The comparison's JSON document, the command that wrote it and how long it took."""

    document: dict[str, Any]
    command: str
    seconds: float


def compare_command(quick: bool) -> list[str]:
    """The comparison's command line."""
    return [sys.executable, "-m", "knowledge_base.compare", "--json", *(["--quick"] if quick else [])]


def parse_document(stdout: bytes) -> dict[str, Any]:
    """The one JSON document the comparison printed (its last non-empty line), checked for its sections."""
    lines = [line for line in stdout.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if not lines:
        raise ValueError("the comparison printed nothing")
    document = json.loads(lines[-1])
    if not isinstance(document, dict):
        raise ValueError("the comparison printed JSON that is not an object")
    missing = [key for key in REQUIRED_KEYS if key not in document]
    if missing:
        raise ValueError(f"the comparison's JSON lacks {', '.join(missing)}")
    return document


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        signal_group(process.pid, signal.SIGKILL)


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no output on stderr"


async def run_retrieval(
    quick: bool,
    progress: Callable[[str], None],
    *,
    command: Sequence[str] | None = None,
    timeout_seconds: float | None = None,
) -> RetrievalResults:
    """Run the comparison and read its document; RuntimeError when it fails or passes its time limit."""
    argv = list(command) if command is not None else compare_command(quick)
    limit = timeout_seconds or (QUICK_TIMEOUT_SECONDS if quick else FULL_TIMEOUT_SECONDS)
    shown = shlex.join(["python", *argv[1:]]) if command is None else shlex.join(argv)
    progress(f"retrieval: {shown}")
    began = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        async with asyncio.timeout(limit):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        raise RuntimeError(f"`{shown}` did not finish within {limit:.0f} s") from None
    finally:
        _kill(process)
        with contextlib.suppress(ProcessLookupError):
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"`{shown}` exited with {process.returncode}: {_last_line(stderr)}")
    seconds = time.monotonic() - began
    progress(f"retrieval: done in {seconds:.0f} s")
    return RetrievalResults(parse_document(stdout), shown, seconds)
