"""Soak: 50 caseworkers for a few minutes against gunicorn with 4 workers on PostgreSQL.

A deployment as an operator runs one (``gunicorn`` with 4 workers, ``nrmflow
worker`` firing timers, training mode) on its own database, which this
script drops and creates afresh: its name must end in ``_soak``. Fifty
simulated caseworkers (benchmarks/caseworkers.py) claim and complete NRM
tasks over the REST API while a first responder keeps referrals coming and
the coordinator moves the training clock a day on every two seconds, so
timers fall due all along. The resident memory of the gunicorn master, each
web worker and the timer worker is sampled every few seconds.

Afterwards it prints one table and exits non-zero if any check fails: no
5xx, no completion acknowledged and then lost, none done twice, every case's
rows and revision as its workflow and audit say (benchmarks/consistency.py),
``nrmflow audit verify`` intact, no client thread failed, and memory flat:
the mean of each process's last tenth of samples within 10% of its second
tenth (the first tenth is warm-up: caches filling).

    .venv/bin/python -m benchmarks.soak [--minutes 5] [--database-url URL]

or ``make soak``. At most 10 minutes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from benchmarks.caseworkers import Tally, plan_accounts, running_load
from benchmarks.consistency import problems_after_load, read_stored
from benchmarks.served import Served, log_tail, rss_kib
from engine.clock import SystemClock
from engine.db import Database

DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/nrmflow_soak"
DEFAULT_MINUTES = 5.0
MAX_MINUTES = 10.0
CASEWORKERS = 50
WEB_WORKERS = 4
SAMPLE_SECONDS = 5.0
FLAT_TOLERANCE = 0.10  # the last tenth's mean memory within this share of the second tenth's
PROBLEMS_SHOWN = 20


@dataclass
class MemorySamples:
    """RSS in KiB per process label, sampled until stopped, on a thread of its own."""

    served: Served
    every_seconds: float
    samples: dict[str, list[int]] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> threading.Thread:
        self.pids = self.served.processes()
        thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while True:
            for label, pid in self.pids.items():
                rss = rss_kib(pid)
                if rss is not None:
                    self.samples.setdefault(label, []).append(rss)
            if self.stop.wait(self.every_seconds):
                return

    def replaced(self) -> list[str]:
        """Processes no longer running under the id they started with (a worker restarted)."""
        now = set(self.served.processes().values())
        return [label for label, pid in self.pids.items() if pid not in now]


@dataclass(frozen=True)
class MemoryTrend:
    label: str
    second_tenth_mib: float
    last_tenth_mib: float

    @property
    def change(self) -> float:
        return self.last_tenth_mib / self.second_tenth_mib - 1

    @property
    def flat(self) -> bool:
        return abs(self.change) <= FLAT_TOLERANCE


def memory_trend(label: str, samples: list[int]) -> MemoryTrend:
    tenth = max(1, len(samples) // 10)
    second, last = samples[tenth : 2 * tenth], samples[-tenth:]
    return MemoryTrend(label, statistics.mean(second) / 1024, statistics.mean(last) / 1024)


def reset_database(url: str) -> None:
    """Drop and create the soak's own database; any other name is refused, never dropped."""
    name = make_url(url).database or ""
    if not name.endswith("_soak"):
        raise SystemExit(f"refusing to drop '{name}': the soak's database name must end in _soak")
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


@dataclass(frozen=True)
class Outcome:
    seconds: float
    tally: Tally
    trends: list[MemoryTrend]
    replaced: list[str]
    problems: list[str]
    timers_fired: int
    audit: str
    audit_intact: bool

    def checks(self) -> dict[str, bool]:
        return {
            "no 5xx": self.tally.server_errors() == 0,
            "nothing lost or done twice": not self.problems,
            "audit chain intact": self.audit_intact,
            "no client thread failed": not self.tally.failures,
            "no process restarted": not self.replaced,
            "memory flat": all(trend.flat for trend in self.trends),
        }


def soak(database_url: str, minutes: float, home: Path) -> Outcome:
    reset_database(database_url)
    served = Served(database_url, home, web_workers=WEB_WORKERS, worker_poll_seconds=1.0)
    served.prepare()
    db = Database(database_url)
    try:
        plan = replace(
            plan_accounts(db, SystemClock(), CASEWORKERS, "soak"),
            backlog=30,
            clock_hours=24,
            clock_every_seconds=2.0,
        )
        served.start()
        try:
            memory = MemorySamples(served, SAMPLE_SECONDS)
            sampler = memory.start()
            started = time.monotonic()
            with running_load(served.url, plan) as tally:
                time.sleep(minutes * 60)
            seconds = time.monotonic() - started
            memory.stop.set()
            sampler.join()
            replaced = memory.replaced()
        finally:
            served.stop()
        verified = served.nrmflow("audit", "verify", check=False)
        stored = read_stored(db)
        return Outcome(
            seconds,
            tally,
            [memory_trend(label, samples) for label, samples in memory.samples.items()],
            replaced,
            problems_after_load(db, tally),
            sum(1 for event in stored.events if event.action == "timer_fired"),
            (verified.stdout + verified.stderr).strip(),
            verified.returncode == 0,
        )
    finally:
        db.dispose()


def report(outcome: Outcome, minutes: float) -> str:
    tally = outcome.tally
    completions = len(tally.completions)
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(tally.by_status().items()))
    lines = [
        f"soak: {minutes:g} min, PostgreSQL, gunicorn {WEB_WORKERS} workers + nrmflow worker, "
        f"{CASEWORKERS} caseworkers",
        f"{'duration':<28}{outcome.seconds:.1f} s",
        f"{'requests':<28}{tally.requests}",
        f"{'completions':<28}{completions} ({completions / outcome.seconds:.2f}/s)",
        f"{'referrals started':<28}{len(tally.cases_started)}",
        f"{'timers fired':<28}{outcome.timers_fired}",
        f"{'latency p50 / p95':<28}{tally.percentile_ms(50):.0f} / "
        f"{tally.percentile_ms(95):.0f} ms",
        f"{'responses by status':<28}{statuses}",
        f"{'5xx':<28}{tally.server_errors()}",
        f"{'completions unanswered':<28}{len(tally.unanswered_completions)}",
        f"{'lost or duplicated':<28}{len(outcome.problems)}",
        *(f"  {problem}" for problem in outcome.problems[:PROBLEMS_SHOWN]),
        f"{'audit verify':<28}{outcome.audit}",
        f"{'client thread failures':<28}{len(tally.failures)}",
        *(f"  {failure}" for failure in tally.failures),
        f"{'processes restarted':<28}{', '.join(outcome.replaced) or 'none'}",
        f"{'memory RSS MiB':<28}{'2nd tenth':>10}{'last tenth':>12}{'change':>9}",
        *(
            f"  {t.label:<26}{t.second_tenth_mib:>10.1f}{t.last_tenth_mib:>12.1f}"
            f"{t.change:>+9.1%}  {'flat' if t.flat else 'GROWING' if t.change > 0 else 'SHRANK'}"
            for t in outcome.trends
        ),
        *(f"{name:<28}{'ok' if ok else 'FAILED'}" for name, ok in outcome.checks().items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    args = parser.parse_args(argv)
    if not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--minutes must be more than 0 and at most {MAX_MINUTES:g}")
    if make_url(args.database_url).get_backend_name() != "postgresql":
        parser.error("the soak runs on PostgreSQL: give a postgresql+psycopg:// URL")
    with tempfile.TemporaryDirectory(prefix="nrmflow-soak-") as home:
        outcome = soak(args.database_url, args.minutes, Path(home))
        print(report(outcome, args.minutes))
        passed = all(outcome.checks().values())
        if not passed:  # the logs go with the temporary directory: show their ends now
            for log in sorted(Path(home).glob("*.log")):
                print(f"\n--- end of {log.name}\n{log_tail(log)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
