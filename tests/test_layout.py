"""No product file grows past 400 lines, Python or browser (scripts, styles, pages): split it by responsibility."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "knowledge_base", "routing", "handoff_api")
SUFFIXES = frozenset({".py", ".js", ".css", ".html"})
MAX_LINES = 400


def product_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.suffix in SUFFIXES and path.is_file() and "__pycache__" not in path.parts
    )


def test_every_product_file_is_at_most_400_lines() -> None:
    lines = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in product_files()}
    too_long = {str(path.relative_to(ROOT)): count for path, count in lines.items() if count > MAX_LINES}
    assert not too_long, too_long


def test_the_browser_files_are_covered() -> None:
    names = {path.name for path in product_files()}
    assert {"console.js", "widget.js", "widget-main.js", "console.html", "widget.css", "main.py"} <= names
