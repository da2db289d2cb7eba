"""Persistence overhead: whole NRM cases through the runtime against bare SpiffWorkflow.

The case is scenario (a) of the NRM library (an adult exploited for labour is
identified, recognised, returns home and the case closes: about 40 tasks, 3
messages in, 2 out, 4 timers), told by the same steps the scenario tests use.
Persisted, each step is a transaction: load and save the state, audit chain,
derived rows, recorded values, and the driver reads the case back as a
caseworker's screen would. In memory, the same steps run on a bare
``BpmnWorkflow`` in the same sandboxed script engine. Each rate is the median
of several rounds; each ratio is taken within this one run.
Run: ``make bench`` or ``python -m benchmarks.engine_overhead``.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from benchmarks.inbox_page import postgres_schema
from benchmarks.nrm_in_memory import InMemoryCase
from benchmarks.table import Figure, at_least, render
from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.scripting import restricted_script_engine
from engine.validation import validate_bundle
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NRM_BUNDLE, START, NrmCase, nrm_runtime
from tests.workflows.nrm_steps import close, referral_to_recognition, return_home
from workflows.hooks import build_hooks
from workflows.time_limits import TimeLimits

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CASES_PER_ROUND = 2
ROUNDS = 5
TARGETS = {"SQLite": 0.4, "PostgreSQL": 0.25}


def scenario_a(case: Any) -> None:
    """Adult, labour exploitation, recognised, voluntary return, three follow-ups, closed."""
    referral_to_recognition(case, exploitation_types=["labour"])
    case.complete("record_informed_choice", answers.proceedings_choice(), "legal_aid")
    return_home(case)
    close(case)
    assert case.status == "completed"


def cases_per_second(run_case: Callable[[], object]) -> float:
    run_case()  # warm-up: caches, first connections
    rates = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CASES_PER_ROUND):
            run_case()
        rates.append(CASES_PER_ROUND / (time.perf_counter() - started))
    return statistics.median(rates)


@cache
def _in_memory_parts() -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec], PythonScriptEngine]:
    hooks = build_hooks(load_settings({"NRMFLOW_HOLIDAY_COUNTRY": "GB"}), TimeLimits())
    bundle = read_bundle(NRM_BUNDLE, 5_000_000)
    spec, subprocess_specs = validate_bundle(bundle, hooks.script_helpers).specs["nrm_case"]
    return spec, subprocess_specs, restricted_script_engine(hooks.script_helpers, 2.0)


def in_memory_case(clock: FixedClock) -> InMemoryCase:
    """A fresh NRM case on bare SpiffWorkflow, started as the persisted driver starts one."""
    spec, subprocess_specs, engine = _in_memory_parts()
    return InMemoryCase(spec, subprocess_specs, engine, clock, START)


def in_memory_rate() -> float:
    return cases_per_second(lambda: scenario_a(in_memory_case(FixedClock(MONDAY))))


def persisted_rate(url: str) -> float:
    db = Database(url)
    try:
        db.upgrade()
        clock = FixedClock(MONDAY)
        runtime = nrm_runtime(db, clock)

        def one_case() -> None:
            clock.set(MONDAY)  # the previous case is closed: none of its timers is left
            scenario_a(NrmCase.refer(runtime, db, clock))

        return cases_per_second(one_case)
    finally:
        db.dispose()


def figures() -> list[Figure]:
    memory = in_memory_rate()
    rates = {}
    with tempfile.TemporaryDirectory() as directory:
        rates["SQLite"] = persisted_rate(f"sqlite:///{directory}/bench.db")
    postgres_url = os.environ.get("NRMFLOW_BENCH_POSTGRES_URL")
    if postgres_url:
        with postgres_schema(postgres_url) as url:
            rates["PostgreSQL"] = persisted_rate(url)
    rows = [Figure("persistence", "NRM case (a), bare SpiffWorkflow in memory", memory, "cases/s")]
    for database, rate in rates.items():
        rows.append(Figure("persistence", f"NRM case (a), runtime + {database}", rate, "cases/s"))
        rows.append(
            at_least(
                "persistence",
                f"{database} / in memory",
                rate / memory,
                "ratio",
                TARGETS[database],
            )
        )
    return rows


def main() -> None:
    print(render(figures()))


if __name__ == "__main__":
    sys.exit(main())
