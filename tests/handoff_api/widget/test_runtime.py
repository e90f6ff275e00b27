"""What the widget connections of one process share."""

from __future__ import annotations

from handoff_api.widget import runtime as runtime_module
from handoff_api.widget.runtime import WidgetLimits, WidgetRuntime


def test_frames_are_large_enough_for_the_longest_message() -> None:
    limits = WidgetLimits.for_chars(2000)
    assert limits.max_frame_bytes == 13_024 and WidgetLimits.for_chars(10).max_frame_bytes == 4096
    frames = limits.frames
    assert (frames.max_frame_bytes, frames.frame_burst, frames.frames_per_second, frames.max_violations) == (
        13_024,
        30,
        10,
        20,
    )


def test_recent_message_ids_are_remembered_per_client_and_bounded(monkeypatch) -> None:
    monkeypatch.setattr(runtime_module, "RECENT_IDS", 2)
    runtime = WidgetRuntime(WidgetLimits())
    runtime.remember("C1", "m-1", 1)
    assert runtime.seen("C1", "m-1") == 1 and runtime.seen("C2", "m-1") is None
    runtime.remember("C1", "m-2", 2)
    runtime.remember("C1", "m-3", 3)
    assert runtime.seen("C1", "m-1") is None and runtime.seen("C1", "m-3") == 3
