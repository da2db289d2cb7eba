"""Storage per closed case, and a timer worker's memory across 10,000 firings (issue 8).

Storage: NRM cases of scenario (a) (benchmarks/engine_overhead.py) run to
closure through the runtime on SQLite, and on PostgreSQL when
NRMFLOW_BENCH_POSTGRES_URL is set (a schema of its own, dropped afterwards).
The database's size is read before and after, per table with its indexes
(SQLite's ``dbstat``, PostgreSQL's ``pg_total_relation_size``), both times
compacted (``VACUUM``, ``VACUUM FULL``): what stays once the dead row
versions of the many saves are reclaimed, as autovacuum and page reuse
would in time. The growth as written, before compaction, is given beside it.

Worker memory: the real ``nrmflow worker`` (training mode, as benchmarks/served.py
runs it) fires 10,000 timers: 1,000 cases of benchmarks/bundles/timer_rounds,
ten one-hour timers each. Whenever less than one worker pass is due, this
process moves the training clock two hours on, so each move makes at most
one more timer of a case due and the worker never waits for the clock. Its
VmRSS is sampled every 0.2 s with the count of timers fired so far;
the issue's target: the mean of the last tenth of the firings within 10%
of the second tenth (the first is warm-up). The worker runs on PostgreSQL
when configured, as deployed, else on SQLite.
Run: ``python -m benchmarks.storage_memory`` (about 3-4 minutes).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from benchmarks.engine_overhead import MONDAY, scenario_a
from benchmarks.inbox_page import postgres_schema
from benchmarks.served import Served, log_tail, rss_kib
from benchmarks.table import Figure, at_most, render
from engine.bundle import read_bundle
from engine.clock import FixedClock, SystemClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.hooks import Hooks
from engine.models import AuditEvent, TimerJob
from engine.retries import timer_firing_due
from engine.runtime import Runtime
from engine.training_clock import TrainingClock
from engine.users import add_user
from tests.workflows.nrm_driver import NrmCase, nrm_runtime

STORED_CASES = 30
TIMER_BUNDLE = Path(__file__).parent / "bundles" / "timer_rounds"
TIMER_PROCESS = "timer_rounds"
TIMERS_PER_CASE = 10
FIRINGS = 10_000
STARTER = "bench.starter"
# more than the bundle's one hour and less than two: one timer of every case falls due per move
CLOCK_STEP = timedelta(hours=2)
SAMPLE_SECONDS = 0.2
WORKER_POLL_SECONDS = 0.05
MAX_WORKER_SECONDS = 600
PASS_CASES = 100  # cases one worker pass takes (TimerFiring.fire_due_timers' limit)
FLAT_BOUND = 1.10

Sizes = dict[str, int]  # bytes per table, its indexes and TOAST included
Measure = Callable[[str, str], list[Figure]]  # (database label, URL) -> figures


# ------------------------------------------------------------ storage per closed case


def sqlite_call(db: Database, statement: str) -> list[tuple[Any, ...]]:
    """A statement on the driver's own connection: SQLAlchemy's BEGIN IMMEDIATE would
    refuse VACUUM, which runs outside any transaction."""
    connection = db.engine.raw_connection()
    try:
        return list(connection.driver_connection.execute(statement).fetchall())
    finally:
        connection.close()


def postgres_call(db: Database, statement: str) -> list[tuple[Any, ...]]:
    """A statement in autocommit, as VACUUM must run; it sees only the schema of the URL."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        result = connection.execute(text(statement))
        return [tuple(row) for row in result] if result.returns_rows else []


SQLITE_TABLE_SIZES = """
    SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat AS s
    JOIN sqlite_schema AS m ON m.name = s.name GROUP BY m.tbl_name"""
POSTGRES_TABLE_SIZES = """
    SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind = 'r'"""


def table_sizes(db: Database) -> Sizes:
    if db.is_postgresql:
        rows = postgres_call(db, POSTGRES_TABLE_SIZES)
    else:
        rows = sqlite_call(db, SQLITE_TABLE_SIZES)
    return {str(name): int(size) for name, size in rows}


def written_bytes(db: Database) -> int:
    """The database's size as the writes left it, free pages and dead row versions included."""
    if db.is_postgresql:
        return sum(table_sizes(db).values())
    page_count = sqlite_call(db, "PRAGMA page_count")[0][0]
    page_size = sqlite_call(db, "PRAGMA page_size")[0][0]
    return int(page_count) * int(page_size)


def compacted_sizes(db: Database) -> Sizes:
    """Per-table sizes once free pages and dead row versions are given back."""
    if db.is_postgresql:
        for table in table_sizes(db):  # only this schema's: never the whole database
            postgres_call(db, f'VACUUM FULL "{table}"')
    else:
        sqlite_call(db, "VACUUM")
    return table_sizes(db)


@dataclass(frozen=True)
class Growth:
    cases: int
    written: int  # bytes the run added, as written
    tables: Sizes  # bytes the run added per table, compacted

    def per_case(self) -> float:
        return sum(self.tables.values()) / self.cases

    def split(self) -> str:
        """Bytes per case by table, largest first: the report's breakdown."""
        shares = sorted(self.tables.items(), key=lambda item: -item[1])
        return ", ".join(f"{table} {size / self.cases:,.0f}" for table, size in shares if size)


def closed_cases_growth(url: str, cases: int) -> Growth:
    db = Database(url)
    try:
        db.upgrade()
        clock = FixedClock(MONDAY)
        runtime = nrm_runtime(db, clock)
        before = compacted_sizes(db)
        written_before = written_bytes(db)
        for number in range(1, cases + 1):
            clock.set(MONDAY)  # the previous case is closed: none of its timers is left
            scenario_a(NrmCase.refer(runtime, db, clock))
            if number % 5 == 0:
                print(f"  {number} cases closed", file=sys.stderr)
        written = written_bytes(db) - written_before
        after = compacted_sizes(db)
        return Growth(cases, written, {t: after[t] - before.get(t, 0) for t in after})
    finally:
        db.dispose()


def storage_figures(label: str, url: str) -> list[Figure]:
    growth = closed_cases_growth(url, STORED_CASES)
    print(f"{label} bytes per closed case by table: {growth.split()}", file=sys.stderr)
    measured = f"bytes per closed NRM case (a), {growth.cases} cases"
    return [
        Figure("storage", f"{measured}, compacted ({label})", growth.per_case(), "bytes"),
        Figure(
            "storage", f"{measured}, as written ({label})", growth.written / growth.cases, "bytes"
        ),
    ]


# ------------------------------------------------------------ worker memory


def start_timer_cases(url: str, cases: int) -> None:
    """The timer cases, each waiting for its first hour; started here, fired by the worker."""
    db = Database(url)
    try:
        db.upgrade()
        clock = SystemClock()  # the training clock's base, not yet moved
        deploy_bundle(db, read_bundle(TIMER_BUNDLE, 5_000_000), "bench", Hooks(), clock)
        add_user(db, STARTER, ["clerk"], None, "bench", clock)
        runtime = Runtime(db, Hooks(), clock)
        for number in range(1, cases + 1):
            runtime.start(TIMER_PROCESS, {"timers": TIMERS_PER_CASE}, STARTER)
            if number % 250 == 0:
                print(f"  {number} timer cases started", file=sys.stderr)
    finally:
        db.dispose()


def timers_fired(db: Database) -> int:
    with db.reader() as session:
        query = select(func.count(AuditEvent.seq)).where(AuditEvent.action == "timer_fired")
        return session.scalar(query) or 0


def timers_due(db: Database, clock: TrainingClock) -> int:
    """Timers due on the worker's clock, counted up to one worker pass."""
    clock.refresh()
    with db.reader() as session:
        due = select(TimerJob.id).where(timer_firing_due(clock.now())).limit(PASS_CASES)
        return session.scalar(select(func.count()).select_from(due.subquery())) or 0


@dataclass(frozen=True)
class Sample:
    seconds: float  # since the watch began
    fired: int  # timers fired so far
    rss_kib: int  # the worker's


@dataclass(frozen=True)
class WorkerRun:
    samples: list[Sample]

    def tenths_mib(self) -> dict[int, float]:
        """Mean RSS while each tenth (0 to 9) of the firings was being made, by tenth sampled."""
        by_tenth: dict[int, list[int]] = {}
        for sample in self.samples:
            by_tenth.setdefault(min(9, sample.fired * 10 // FIRINGS), []).append(sample.rss_kib)
        return {tenth: statistics.mean(rss) / 1024 for tenth, rss in sorted(by_tenth.items())}

    def peak_mib(self) -> float:
        return max(s.rss_kib for s in self.samples) / 1024

    def firings_per_second(self) -> float:
        """From the first sample that saw a firing, so the worker's start-up is not counted."""
        first = next(s for s in self.samples if s.fired)
        last = self.samples[-1]
        return (last.fired - first.fired) / (last.seconds - first.seconds)


def watch_worker(db: Database, pid: int, worker_log: Path) -> WorkerRun:
    """Sample the worker until it fired every timer; move the clock on when under a pass is due.

    Moving it before the last due timer fired keeps the worker from idling between moves;
    each move still makes at most one more timer of a case due.
    """
    clock = TrainingClock(db)
    samples: list[Sample] = []
    started = time.monotonic()
    fired = 0
    while fired < FIRINGS:
        seconds = time.monotonic() - started
        if seconds > MAX_WORKER_SECONDS:
            raise RuntimeError(f"{fired} of {FIRINGS} timers fired:\n{log_tail(worker_log)}")
        fired = timers_fired(db)
        rss = rss_kib(pid)
        if rss is None:
            raise RuntimeError(f"the worker exited:\n{log_tail(worker_log)}")
        samples.append(Sample(seconds, fired, rss))
        if len(samples) % 50 == 0:
            print(f"  {fired:,} timers fired, worker RSS {rss / 1024:.1f} MiB", file=sys.stderr)
        if fired < FIRINGS and timers_due(db, clock) < PASS_CASES:
            clock.advance(CLOCK_STEP, "bench")
        time.sleep(SAMPLE_SECONDS)
    return WorkerRun(samples)


def worker_run(url: str, home: Path) -> WorkerRun:
    start_timer_cases(url, FIRINGS // TIMERS_PER_CASE)
    served = Served(url, home, worker_poll_seconds=WORKER_POLL_SECONDS)
    db = Database(url)
    try:
        served.start_timer_worker()
        assert served.timer_worker is not None
        return watch_worker(db, served.timer_worker.pid, served.worker_log)
    finally:
        served.stop()
        db.dispose()


def worker_figures(label: str, url: str) -> list[Figure]:
    with tempfile.TemporaryDirectory(prefix="nrmflow-worker-") as home:
        run = worker_run(url, Path(home))
    tenths = run.tenths_mib()
    shown = ", ".join(f"{tenth}: {mib:.1f}" for tenth, mib in tenths.items())
    print(f"{label} worker mean RSS MiB by tenth of the firings: {shown}", file=sys.stderr)
    measured = f"nrmflow worker, {FIRINGS:,} timer firings ({label})"
    return [
        Figure("worker memory", f"peak RSS, {measured}", run.peak_mib(), "MiB"),
        at_most(
            "worker memory",
            f"RSS last tenth / second tenth of the firings, {measured}",
            tenths[9] / tenths[1],
            "ratio",
            FLAT_BOUND,
        ),
        Figure(
            "worker memory", f"timer firings per second, {measured}", run.firings_per_second(), "/s"
        ),
    ]


# ------------------------------------------------------------ both, on each database


def on_sqlite(measure: Measure) -> list[Figure]:
    with tempfile.TemporaryDirectory() as directory:
        return measure("SQLite", f"sqlite:///{directory}/bench.db")


def on_postgresql(measure: Measure, postgres_url: str) -> list[Figure]:
    with postgres_schema(postgres_url) as url:
        return measure("PostgreSQL", url)


def figures() -> list[Figure]:
    """Storage on each database; the worker once (its 10,000 firings take minutes), on
    PostgreSQL when configured, as deployed."""
    postgres_url = os.environ.get("NRMFLOW_BENCH_POSTGRES_URL")
    rows = on_sqlite(storage_figures)
    if not postgres_url:
        return rows + on_sqlite(worker_figures)
    return (
        rows
        + on_postgresql(storage_figures, postgres_url)
        + on_postgresql(worker_figures, postgres_url)
    )


def main() -> None:
    print(render(figures()))


if __name__ == "__main__":
    sys.exit(main())
