"""Start-up work: the start-up heap is frozen once per process, and the app does it once it is ready."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from handoff_api import main
from handoff_api.main import create_app
from handoff_api.settings import Settings
from routing.settings import RoutingSettings
from tests.handoff_api.conftest import ScriptedBot

ROOT = Path(__file__).resolve().parents[2]


def run_python(script: str) -> str:
    """Run `script` in a fresh interpreter (freezing is for the whole process) and give its output."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_freezing_sets_the_live_heap_aside_and_keeps_freeing_what_is_dropped() -> None:
    output = run_python(
        """
        import gc, weakref
        from handoff_api.startup import freeze_startup_heap

        class Node:
            pass

        kept = [Node() for _ in range(1000)]
        dropped = Node()
        dropped.self = dropped  # a cycle: only the collector frees it
        gone = weakref.ref(dropped)
        del dropped
        before = gc.get_freeze_count()
        freeze_startup_heap()
        after = gc.get_freeze_count()
        print(before, after > len(kept), gone() is None)

        late = Node()
        late.self = late  # made after the freeze: still collected
        gone_late = weakref.ref(late)
        del late
        gc.collect()
        print(gone_late() is None)
        """
    )
    assert output.splitlines() == ["0 True True", "True"]


def test_a_second_freeze_in_the_same_process_freezes_nothing_more() -> None:
    output = run_python(
        """
        import gc
        from handoff_api.startup import freeze_startup_heap

        freeze_startup_heap()
        first = gc.get_freeze_count()
        leftovers = [[] for _ in range(5000)]
        freeze_startup_heap()
        print(gc.get_freeze_count() == first)
        """
    )
    assert output == "True"


def test_the_app_freezes_its_start_up_heap_once_ready(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(main, "freeze_startup_heap", lambda: calls.append(True))
    app = create_app(settings, bot=ScriptedBot(), routing_settings=RoutingSettings(always_open=True))
    assert not calls
    with TestClient(app) as client:
        assert calls == [True]
        assert client.get("/health/live").status_code == 200
