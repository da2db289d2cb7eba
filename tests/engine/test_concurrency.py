"""Concurrent writers never overwrite each other; a timer fires exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from engine.audit import verify
from engine.clock import FixedClock
from engine.db import Database
from engine.errors import EngineError
from engine.hooks import Hooks
from engine.models import AuditEvent
from engine.runtime import Runtime
from tests.engine.helpers import item_named, sample_runtime

THREADS = 20


def _race(count: int, action: Callable[[], Any]) -> list[Any]:
    """Start ``count`` threads at one barrier; return each one's result or exception."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = action()
        except EngineError as error:
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_twenty_threads_complete_one_work_item_and_exactly_one_wins(
    db: Database, clock: FixedClock
) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    intake = item_named(case, "intake")
    data = {"applicant_ref": "REF-9", "amount": 10, "urgent": True}

    results = _race(THREADS, lambda: runtime.complete(intake.id, data, "clara"))

    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes["CaseView"] == 1, outcomes
    assert set(outcomes) <= {"CaseView", "StaleRevision", "TaskNotReady"}, outcomes
    with db.reader() as session:
        completions = session.scalar(
            select(func.count()).where(AuditEvent.action == "task_completed")
        )
        assert completions == 1
        assert verify(session).intact
    assert runtime.case(case.id).revision == case.revision + 1


def test_two_workers_racing_fire_a_timer_once(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    runtime.complete(
        item_named(case, "intake").id, {"applicant_ref": "R", "amount": 1, "urgent": True}, "clara"
    )
    clock.advance(days=4)
    workers = [Runtime(db, Hooks(), clock) for _ in range(2)]
    turn = iter(range(2))
    lock = threading.Lock()

    def fire() -> int:
        with lock:
            worker = workers[next(turn)]
        return worker.fire_due_timers()

    results = _race(2, fire)

    assert sorted(r if isinstance(r, int) else -1 for r in results) == [0, 1], results
    with db.reader() as session:
        fired = session.scalar(select(func.count()).where(AuditEvent.action == "timer_fired"))
        assert fired == 1
        assert verify(session).intact
    assert [w.task_name for w in runtime.case(case.id).work_items] == ["escalate"]
