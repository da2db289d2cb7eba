"""History growth: the cost of one task completion as a case loops for years.

One case of ``tests/fixtures/bundles/review_loop`` (a periodic review with a 30-day
deadline timer, counted by a script, then "review again?") is completed through
the runtime on SQLite, and the time of a completion (load, complete, save in one
transaction) is taken around 10, 100, 1,000 and 2,000 cycles: the median of a
few completions at each.
SpiffWorkflow keeps every finished task in the live tree, so without a design
against it the cost grows with the case's age, and its task iterator stops at
depth 1,000: the loop then stalls with no open task and no error. A stall is
reported as the cycle it happened at.
Run: ``make bench`` or ``python -m benchmarks.history_growth``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.table import Figure, at_least, at_most, render
from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.hooks import Hooks
from engine.runtime import Runtime
from engine.users import add_user

BUNDLE = Path(__file__).parents[1] / "tests" / "fixtures" / "bundles" / "review_loop"
CHECKPOINTS = (10, 100, 1_000, 2_000)
SAMPLES = 5  # completions timed at each checkpoint


def _runtime(url: str, clock: FixedClock) -> Runtime:
    db = Database(url)
    db.upgrade()
    deploy_bundle(db, read_bundle(BUNDLE, 5_000_000), "bench", Hooks(), clock)
    add_user(db, "rita", ["reviewer"], None, "bench", clock)
    return Runtime(db, Hooks(), clock)


def per_completion_ms(url: str) -> tuple[dict[int, float], int | None]:
    """Median ms per completion at each checkpoint reached, and the cycle it stalled at."""
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    runtime = _runtime(url, clock)
    case = runtime.start("review_loop", {}, "rita")
    timings: dict[int, list[float]] = {}
    cycles = 0
    while cycles < CHECKPOINTS[-1] + SAMPLES:
        if not case.work_items:
            return _medians(timings), cycles
        started = time.perf_counter()
        case = runtime.complete(case.work_items[0].id, {"again": True}, "rita")
        elapsed = time.perf_counter() - started
        cycles += 1
        checkpoint = next((c for c in CHECKPOINTS if c < cycles <= c + SAMPLES), None)
        if checkpoint is not None:
            timings.setdefault(checkpoint, []).append(elapsed * 1000)
        if cycles % 250 == 0:
            print(f"  {cycles} cycles", file=sys.stderr)
    return _medians(timings), None


def _medians(timings: dict[int, list[float]]) -> dict[int, float]:
    return {cycle: statistics.median(samples) for cycle, samples in timings.items()}


def figures() -> list[Figure]:
    with tempfile.TemporaryDirectory() as directory:
        medians, stalled_at = per_completion_ms(f"sqlite:///{directory}/bench.db")
    rows = [
        Figure("history", f"one completion after {cycle:,} cycles (SQLite)", ms, "ms")
        for cycle, ms in sorted(medians.items())
    ]
    reached = stalled_at if stalled_at is not None else CHECKPOINTS[-1]
    rows.append(
        at_least("history", "review cycles run (fewer: it stalled)", reached, "cycles", 2000)
    )
    furthest = max(medians)  # the growth so far when the loop stalled before 2,000
    first = CHECKPOINTS[0]
    ratio = medians[furthest] / medians[first]
    rows.append(at_most("history", f"{furthest:,} / {first} cycles", ratio, "ratio", 1.5))
    return rows


def main() -> None:
    print(render(figures()))


if __name__ == "__main__":
    sys.exit(main())
