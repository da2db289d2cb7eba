"""HTTP: gunicorn with 2 and 4 workers on PostgreSQL, 50 caseworkers on loopback.

A deployment as an operator runs one (benchmarks/served.py: gunicorn sync
workers, ``nrmflow worker`` firing timers, training mode) serves the
simulated office of benchmarks/caseworkers.py: 50 caseworkers claiming and
completing NRM tasks over the REST API while a first responder keeps
referrals coming.

People are not load generators: after each item a caseworker pauses 1-3 s,
drawn at random, for reading the next case, and one with an empty inbox
looks again after 2 s. That is already a busy office (a real one reads for
minutes); with no pause at all (and a look every 0.3 s, as in the soak) 50
clients only measure queueing in front of the workers, so that is run as a
phase of its own and reported as the ceiling: completions per second flat out.
The training clock stays still, as time does in an office: the soak's day
every 2 s has the timer worker fire days of timers a minute, a third of a
core on this machine that no deployment spends.

Per worker count, on a schema of its own: 10 s of warm-up, 45 s measured
with think time, then 3 s of warm-up and 20 s measured flat out, about 3
minutes for both counts. Completions per second are the median over 5 s
windows; latencies are percentiles of every answered request of the
measured stretch (client side: queueing in the listen backlog included).
409s are colleagues' conflicts the API promises (already claimed, stale
revision), counted apart from errors. The issue's target is p95 under
100 ms at 4 workers with the office at work.

Runs only when ``NRMFLOW_BENCH_POSTGRES_URL`` is set:
``python -m benchmarks.http_load``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from itertools import pairwise
from pathlib import Path

from benchmarks.caseworkers import NO_ANSWER, LoadPlan, Tally, plan_accounts, running_load
from benchmarks.inbox_page import postgres_schema
from benchmarks.served import Served
from benchmarks.table import Figure, below, percentile, render
from engine.clock import SystemClock
from engine.db import Database

AREA = "http"
CASEWORKERS = 50
WEB_WORKER_COUNTS = (2, 4)
TARGET_WORKERS = 4
P95_TARGET_MS = 100
THINK_SECONDS = (1.0, 3.0)  # after each item: reading the next case, uniformly drawn
IDLE_SECONDS = 2.0  # an empty inbox is looked at again after this, as often as a case is read
CLOCK_STILL_SECONDS = 3600.0  # longer than any phase: the coordinator never moves the clock
BACKLOG = 30  # screenings waiting before another referral is started, as in the soak
WINDOW_SECONDS = 5.0
OFFICE = ("think 1-3 s", 10.0, 45.0)  # label, warm-up seconds, measured seconds
FLAT_OUT = ("no think time", 3.0, 20.0)
COMPLETE = "POST /work-items/{id}/complete"


@dataclass(frozen=True)
class Mark:
    """Where a live tally stood at a moment, so a phase counts only what came after it."""

    at: float
    latencies: int
    completion_latencies: int
    completions: int
    responses: Counter[tuple[str, str]]


def mark(tally: Tally) -> Mark:
    with tally.lock:
        return Mark(
            time.monotonic(),
            len(tally.latencies_ms),
            len(tally.latencies_ms_by_request.get(COMPLETE, [])),
            len(tally.completions),
            Counter(tally.responses),
        )


@dataclass(frozen=True)
class Phase:
    """The measured stretch of one load: marks at its start and after each window."""

    tally: Tally
    marks: list[Mark]

    def completions_per_second(self) -> float:
        return statistics.median(
            (end.completions - start.completions) / (end.at - start.at)
            for start, end in pairwise(self.marks)
        )

    def latency_ms(self, fraction: float) -> float:
        first, last = self.marks[0], self.marks[-1]
        return percentile(self.tally.latencies_ms[first.latencies : last.latencies], fraction)

    def completion_latency_ms(self, fraction: float) -> float:
        first, last = self.marks[0], self.marks[-1]
        samples = self.tally.latencies_ms_by_request.get(COMPLETE, [])
        return percentile(samples[first.completion_latencies : last.completion_latencies], fraction)

    def statuses(self) -> Counter[str]:
        """Responses of the stretch by status ('409 stale-revision', 'no answer', ...)."""
        counts: Counter[str] = Counter()
        for (_request, status), n in (self.marks[-1].responses - self.marks[0].responses).items():
            counts[status] += n
        return counts


def run_phase(base_url: str, plan: LoadPlan, warm_up_seconds: float, seconds: float) -> Phase:
    """Everyone at work; only what happens after the warm-up (the start's stampede) counts."""
    with running_load(base_url, plan) as tally:
        time.sleep(warm_up_seconds)
        marks = [mark(tally)]
        for _ in range(round(seconds / WINDOW_SECONDS)):
            time.sleep(WINDOW_SECONDS)
            marks.append(mark(tally))
    if tally.failures:  # a load that lost its people would look fast
        raise RuntimeError(f"simulated people failed: {tally.failures}")
    return Phase(tally, marks)


def errors_by_type(statuses: Counter[str]) -> dict[str, int]:
    def count(kind: str) -> int:
        return sum(n for status, n in statuses.items() if status.startswith(kind))

    conflicts = count("409")
    return {
        "5xx responses": count("5"),
        "connection errors (no answer)": count(NO_ANSWER),
        "409 conflicts (expected, not errors)": conflicts,
        "other 4xx": count("4") - conflicts,
    }


def deployment_figures(web_workers: int, office: Phase, flat_out: Phase) -> list[Figure]:
    who = f"{web_workers} workers, {CASEWORKERS} caseworkers"
    busy = f"{who} ({OFFICE[0]})"
    p95 = office.latency_ms(0.95)
    p95_measured = f"{busy}: p95 latency, all requests"
    return [
        Figure(AREA, f"{busy}: completions", office.completions_per_second(), "per s"),
        Figure(AREA, f"{busy}: p50 latency, all requests", office.latency_ms(0.5), "ms"),
        below(AREA, p95_measured, p95, "ms", P95_TARGET_MS)
        if web_workers == TARGET_WORKERS
        else Figure(AREA, p95_measured, p95, "ms"),
        Figure(AREA, f"{busy}: p95 latency, completions", office.completion_latency_ms(0.95), "ms"),
        Figure(
            AREA, f"{who} ({FLAT_OUT[0]}): completions", flat_out.completions_per_second(), "per s"
        ),
        Figure(AREA, f"{who} ({FLAT_OUT[0]}): p95 latency", flat_out.latency_ms(0.95), "ms"),
        *(
            Figure(AREA, f"{who}, both phases: {kind}", n, "count")
            for kind, n in errors_by_type(office.statuses() + flat_out.statuses()).items()
        ),
    ]


def measure_deployment(database_url: str, web_workers: int, home: Path) -> list[Figure]:
    """A fresh deployment with ``web_workers`` gunicorn workers, the office, then flat out."""
    served = Served(database_url, home, web_workers=web_workers)
    served.prepare()
    db = Database(database_url)
    try:
        plan = replace(
            plan_accounts(db, SystemClock(), CASEWORKERS, "http"),
            backlog=BACKLOG,
            clock_every_seconds=CLOCK_STILL_SECONDS,
        )
    finally:
        db.dispose()
    served.start()
    try:
        at_desks = replace(plan, think_seconds=THINK_SECONDS, idle_seconds=IDLE_SECONDS)
        office = run_phase(served.url, at_desks, *OFFICE[1:])
        flat_out = run_phase(served.url, plan, *FLAT_OUT[1:])
    finally:
        served.stop()
    return deployment_figures(web_workers, office, flat_out)


def figures() -> list[Figure]:
    base_url = os.environ.get("NRMFLOW_BENCH_POSTGRES_URL")
    if not base_url:
        print("http_load: NRMFLOW_BENCH_POSTGRES_URL is unset, skipped", file=sys.stderr)
        return []
    rows: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="nrmflow-http-") as home:
        for web_workers in WEB_WORKER_COUNTS:
            with postgres_schema(base_url) as url:
                rows += measure_deployment(url, web_workers, Path(home) / f"{web_workers}")
    return rows


def main() -> None:
    print(render(figures()))


if __name__ == "__main__":
    sys.exit(main())
