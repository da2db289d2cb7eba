"""Persisted runtime against bare SpiffWorkflow on the sample bundle, in one run.

Prints one table: whole sample cases per second (full route: 5 user tasks, a
call activity, a DMN decision, parallel branches) in memory and through the
runtime service on SQLite (and PostgreSQL when NRMFLOW_BENCH_POSTGRES_URL is
set), each the median of several rounds, plus stored state sizes.
Run: ``make bench``.
"""

from __future__ import annotations

import gzip
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.hooks import Hooks
from engine.runtime import Runtime
from engine.scripting import restricted_script_engine
from engine.state import dump_state
from engine.users import add_user
from engine.validation import validate_bundle

SAMPLE = Path(__file__).parent.parent / "tests" / "fixtures" / "bundles" / "sample"
ANSWERS = {
    "intake": {"applicant_ref": "R-1", "amount": 5000, "urgent": False},
    "check_documents": {"documents_complete": True},
    "run_check": {"clear": True},
    "approve": {"approved": True},
}
ACTORS = {"intake": "clara", "check_documents": "clara", "run_check": "chen", "approve": "sam"}
CASES_PER_ROUND = 20
ROUNDS = 5


def in_memory_case(spec, subprocess_specs, script_engine) -> BpmnWorkflow:  # type: ignore[no-untyped-def]
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.do_engine_steps()
    while not workflow.is_completed():
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update(ANSWERS[task.task_spec.bpmn_id])
        task.run()
        workflow.do_engine_steps()
    return workflow


def persisted_case(runtime: Runtime) -> None:
    case = runtime.start("sample_case", {}, "clara")
    while case.work_items:
        item = case.work_items[0]
        case = runtime.complete(item.id, ANSWERS[item.task_name], ACTORS[item.task_name])
    assert case.status == "completed"


def cases_per_second(run_case: Callable[[], object]) -> float:
    rates = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CASES_PER_ROUND):
            run_case()
        rates.append(CASES_PER_ROUND / (time.perf_counter() - started))
    return statistics.median(rates)


def runtime_on(url: str) -> Runtime:
    db = Database(url)
    db.upgrade()
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    deploy_bundle(db, read_bundle(SAMPLE, 5_000_000), "bench", Hooks(), clock)
    for name, role in (("clara", "clerk"), ("chen", "checker"), ("sam", "supervisor")):
        add_user(db, name, [role], None, "bench", clock)
    return Runtime(db, Hooks(), clock)


def main() -> None:
    validated = validate_bundle(read_bundle(SAMPLE, 5_000_000), {})
    spec, subprocess_specs = validated.specs["sample_case"]
    engine = restricted_script_engine({})
    rows = [
        (
            "bare SpiffWorkflow, in memory",
            cases_per_second(lambda: in_memory_case(spec, subprocess_specs, engine)),
        )
    ]
    with tempfile.TemporaryDirectory() as directory:
        sqlite = runtime_on(f"sqlite:///{directory}/bench.db")
        rows.append(("runtime + SQLite", cases_per_second(lambda: persisted_case(sqlite))))
        postgres_url = os.environ.get("NRMFLOW_BENCH_POSTGRES_URL")
        if postgres_url:
            postgres = runtime_on(postgres_url)
            rows.append(
                ("runtime + PostgreSQL", cases_per_second(lambda: persisted_case(postgres)))
            )

    print(f"{'execution':<32}{'cases/s':>10}{'ratio to memory':>18}")
    for label, rate in rows:
        print(f"{label:<32}{rate:>10.1f}{rate / rows[0][1]:>18.3f}")

    finished = in_memory_case(spec, subprocess_specs, engine)
    full = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    with_spec = len(full.serialize_json(finished).encode())
    without_spec = len(gzip.decompress(dump_state(finished)))
    print()
    print(f"{'stored state of a finished case':<32}{'bytes':>10}")
    print(f"{'JSON with spec (Spiff default)':<32}{with_spec:>10}")
    print(f"{'JSON without spec (nrmflow)':<32}{without_spec:>10}")
    print(f"{'  gzip as stored':<32}{len(dump_state(finished)):>10}")


if __name__ == "__main__":
    sys.exit(main())
