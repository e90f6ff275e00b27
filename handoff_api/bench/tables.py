"""Markdown tables and number formatting for the report (pure)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from handoff_api.bench.stats import Spread


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table; the first column left-aligned, the others right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join([":---", *["---:"] * (len(header) - 1)]) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def number(value: float, digits: int | None = None) -> str:
    """A figure with sensible precision: 1,234 / 123 / 12.3 / 1.23 / 0.123; "–" for a missing one."""
    if not math.isfinite(value):
        return "–"
    if digits is None:
        magnitude = abs(value)
        digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 1 else 3
    return f"{value:,.{digits}f}"


def spread_cell(values: Spread, digits: int | None = None) -> str:
    """`median [low–high]`, or the median alone when the rounds agree exactly or there is one round."""
    if not math.isfinite(values.median):
        return "–"
    if values.low == values.high:
        return number(values.median, digits)
    return f"{number(values.median, digits)} [{number(values.low, digits)}–{number(values.high, digits)}]"


def ratio_cell(values: Spread) -> str:
    """A ratio as `1.25× [1.20–1.31]`."""
    if not math.isfinite(values.median):
        return "–"
    if values.low == values.high:
        return f"{values.median:.2f}×"
    return f"{values.median:.2f}× [{values.low:.2f}–{values.high:.2f}]"


def verdict(met: bool | None) -> str:
    """yes / **no** / – for a target column."""
    return "–" if met is None else "yes" if met else "**no**"


def duration(seconds: float) -> str:
    """`9 min 42 s`."""
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"
