"""One table for every benchmark: what was measured, its value, and the target it holds.

Each benchmark module returns :class:`Figure` rows from ``figures()``;
``python -m benchmarks`` (``make bench``) runs them all and prints one table.
A figure without a target is context (a rate, a size) for the ratio beside it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    area: str  # "persistence", "history", "inbox", "http", "storage", ...
    measured: str  # what, in words a deployer understands
    value: float
    unit: str
    target: str = ""  # as printed, e.g. ">= 0.40" or "< 50"
    met: bool | None = None  # None: no target


def at_least(area: str, measured: str, value: float, unit: str, bound: float) -> Figure:
    return Figure(area, measured, value, unit, f">= {bound:g}", value >= bound)


def at_most(area: str, measured: str, value: float, unit: str, bound: float) -> Figure:
    return Figure(area, measured, value, unit, f"<= {bound:g}", value <= bound)


def below(area: str, measured: str, value: float, unit: str, bound: float) -> Figure:
    return Figure(area, measured, value, unit, f"< {bound:g}", value < bound)


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0.5: median, 0.95: p95) of ``samples``."""
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[round(fraction * 100) - 1]


def median_of(rounds: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(rounds))


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def render(figures: Iterable[Figure]) -> str:
    """The table as text: one row per figure, the verdict last."""
    rows = [("area", "measured", "value", "unit", "target", "")]
    for f in figures:
        verdict = "" if f.met is None else ("ok" if f.met else "MISSED")
        rows.append((f.area, f.measured, _number(f.value), f.unit, f.target, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(6)]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.rjust(widths[i]) if i == 2 else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)
