"""Old learned versions are removed from disk; the newest ones stay."""

from __future__ import annotations

from pathlib import Path

from handoff_api.learning.rebuild import prune_versions


def test_only_the_newest_versions_and_their_inputs_stay(tmp_path: Path) -> None:
    for number in range(1, 6):
        (tmp_path / f"v{number}").mkdir()
        (tmp_path / f"inputs-v{number}").mkdir()
    (tmp_path / "notes").mkdir()
    removed = prune_versions(tmp_path, newest=5, keep=3)
    assert sorted(path.name for path in removed) == ["inputs-v1", "inputs-v2", "v1", "v2"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "inputs-v3",
        "inputs-v4",
        "inputs-v5",
        "notes",
        "v3",
        "v4",
        "v5",
    ]
