"""Cases that loop for years: the live tree stays small, the past stays in the audit.

SpiffWorkflow 3.2 keeps every finished task in the tree; unpruned, a review loop
stalls silently after 333 cycles (its task iterator stops at depth 1,000: the
open review vanishes and the case reports itself completed). engine/pruning.py
cuts the finished past before each save. Step costs are measured by
benchmarks/history_growth.py, not here.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import state
from engine.audit import verify
from engine.bundle import read_bundle
from engine.case_history import case_diagram, case_history
from engine.case_migration import migrate, target_version_id
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.hooks import Hooks
from engine.models import AuditEvent, ProcessInstance
from engine.runtime import Runtime
from engine.users import add_user
from engine.views import CaseView
from tests.engine.helpers import BUNDLES

CYCLES = 2_000


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    deploy_bundle(db, read_bundle(BUNDLES / "review_loop", 5_000_000), "tester", Hooks(), clock)
    add_user(db, "rita", ["reviewer"], None, "tester", clock)
    add_user(db, "aude", ["auditor"], None, "tester", clock)
    return Runtime(db, Hooks(), clock)


def _review(runtime: Runtime, case: CaseView, cycles: int, again: bool = True) -> CaseView:
    for _ in range(cycles):
        (item,) = case.work_items  # the review is open after every cycle: no stall
        case = runtime.complete(item.id, {"again": again}, "rita")
    return case


def _stored_tasks(db: Database, case_id: int) -> int:
    with db.reader() as session:
        instance = session.get(ProcessInstance, case_id)
        assert instance is not None
        return len(json.loads(gzip.decompress(instance.state))["tasks"])


def test_a_review_loop_runs_2000_cycles_and_the_auditor_sees_every_one(
    runtime: Runtime, db: Database
) -> None:
    case = _review(runtime, runtime.start("review_loop", {}, "rita"), CYCLES)
    assert _stored_tasks(db, case.id) < 20  # not thousands
    case = _review(runtime, case, 1, again=False)
    assert case.status == "completed"

    history = case_history(runtime, case.id, "aude", lambda *_: lambda *_: None)
    completed = [e for e in history.events if e.action == "task_completed"]
    assert len(completed) == CYCLES + 1
    assert {place.element for e in completed for place in e.places} == {"review"}
    with db.reader() as session:
        assert verify(session).intact
        steps = session.scalar(
            select(func.count()).where(
                AuditEvent.instance_id == case.id, AuditEvent.action == "engine_steps"
            )
        )
    assert steps == CYCLES + 2  # the start, each cycle's count, and the end


def test_the_diagram_still_shows_the_path_taken_once_the_past_is_pruned(
    runtime: Runtime,
) -> None:
    case = _review(runtime, runtime.start("review_loop", {}, "rita"), 5)
    marks = case_diagram(runtime, case.id, "aude").marks
    assert marks.completed == {"start", "begin", "review", "count", "again_gateway"}
    assert marks.active == {"review"}
    assert marks.taken_flows == {"to_begin", "to_review", "to_count", "to_gateway", "again"}
    done = _review(runtime, case, 1, again=False)
    assert "finished" in case_diagram(runtime, done.id, "aude").marks.taken_flows


def test_a_case_saved_deep_before_pruning_is_pruned_at_its_next_step_and_goes_on(
    runtime: Runtime, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as unpruned:  # as a release without pruning saved it
        unpruned.setattr(state, "prune", lambda workflow: 0)
        # (unpruned, the review's deadline makes SpiffWorkflow recurse too deep at ~250)
        case = _review(runtime, runtime.start("review_loop", {}, "rita"), 200)
        deep = _stored_tasks(db, case.id)
    case = _review(runtime, case, 200)  # past the 333 cycles where it used to stall
    assert deep > 900 and _stored_tasks(db, case.id) < 20
    marks = case_diagram(runtime, case.id, "aude").marks
    assert {"begin", "count"} <= marks.completed  # remembered from the deep tree


def test_a_long_lived_case_moves_to_a_new_version_and_goes_on(
    runtime: Runtime, db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    """Unpruned, a deep case could not even be compared with a new version (the
    diff stops at depth 1,000, before the open task)."""
    case = _review(runtime, runtime.start("review_loop", {}, "rita"), 400)
    renamed = tmp_path / "review_loop"
    shutil.copytree(BUNDLES / "review_loop", renamed)
    diagram = renamed / "review_loop.bpmn"
    diagram.write_text(diagram.read_text().replace('"Periodic review"', '"Annual review"'))
    deploy_bundle(db, read_bundle(renamed, 5_000_000), "tester", Hooks(), clock)
    version_2 = target_version_id(db, 2, "review_loop", None)

    (result,) = migrate(runtime, [case.id], version_2, "tester", None)
    assert (result.migrated, result.reason) == (True, "")
    case = _review(runtime, runtime.case(case.id), 1)
    assert (case.model_version, case.work_items[0].title) == (2, "Annual review")
    with db.reader() as session:
        assert verify(session).intact


def test_the_review_deadline_still_fires_on_a_case_400_cycles_old(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = _review(runtime, runtime.start("review_loop", {}, "rita"), 400)
    clock.advance(days=31)
    assert runtime.fire_due_timers() == 1
    (chase,) = runtime.case(case.id).work_items
    assert chase.task_name == "chase_review"
    case = runtime.complete(chase.id, {"reminded": True}, "rita")
    case = _review(runtime, case, 10)  # back in the loop, its deadline armed again
    assert [w.due_at for w in case.work_items] == [clock.now() + timedelta(days=30)]
    with db.reader() as session:
        assert verify(session).intact


def test_pruning_keeps_nothing_of_the_past_but_facts_about_elements(
    runtime: Runtime, db: Database
) -> None:
    case = _review(runtime, runtime.start("review_loop", {}, "rita"), 50)
    with db.reader() as session:
        instance = session.get(ProcessInstance, case.id)
        assert instance is not None
        document = json.loads(gzip.decompress(instance.state))
    facts = document["nrmflow_reached"]
    assert Counter(len(fact) for fact in facts) == {4: len(facts)}
    elements = {"start", "begin", "review", "review_overdue", "count", "again_gateway"}
    assert {fact[1] for fact in facts} == elements  # the deadline: reached, never completed
