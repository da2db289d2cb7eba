"""The sample bundle driven start to end through the persisted runtime."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.audit import verify
from engine.clock import FixedClock
from engine.db import Database
from engine.errors import AlreadyClaimed, CaseNotFound, FormInvalid, NotAuthorized, TaskNotReady
from engine.models import AuditEvent, ProcessInstance, TimerJob
from engine.users import add_user
from tests.engine.helpers import item_named, sample_runtime

INTAKE_FAST = {"applicant_ref": "REF-001", "amount": 200, "urgent": False}
INTAKE_FULL = {"applicant_ref": "REF-002", "amount": 5000, "urgent": False}


def test_fast_route_runs_script_and_decision_to_the_end(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    assert case.status == "running"
    intake = item_named(case, "intake")
    assert (intake.role, intake.lane, intake.form) == ("clerk", "Clerk", "intake.json")

    case = runtime.complete(intake.id, INTAKE_FAST, "clara")
    approve = item_named(case, "approve")
    assert approve.role == "supervisor"
    assert approve.due_at == clock.now() + timedelta(days=3)  # its boundary timer, P3D

    case = runtime.complete(approve.id, {"approved": True, "note": "fine"}, "sam")
    assert case.status == "completed" and case.work_items == []
    with db.reader() as session:
        assert session.scalars(select(TimerJob)).all() == []
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert verify(session).intact
    assert actions.count("task_completed") == 2 and actions[-1] == "case_completed"


def test_full_route_runs_parallel_branches_and_call_activity(
    db: Database, clock: FixedClock
) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    case = runtime.complete(item_named(case, "intake").id, INTAKE_FULL, "clara")
    assert {w.task_name for w in case.work_items} == {"check_documents", "run_check"}
    run_check = item_named(case, "run_check")
    assert run_check.role == "checker"

    case = runtime.complete(run_check.id, {"clear": True}, "chen")
    assert {w.task_name for w in case.work_items} == {"check_documents"}
    case = runtime.complete(
        item_named(case, "check_documents").id, {"documents_complete": True}, "clara"
    )
    case = runtime.complete(item_named(case, "approve").id, {"approved": False}, "sam")
    assert case.status == "completed"


def test_form_errors_are_all_reported_and_nothing_changes(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    intake = item_named(case, "intake")
    with pytest.raises(FormInvalid) as raised:
        runtime.complete(intake.id, {"amount": "lots", "urgent": "yes", "secret": 1}, "clara")
    paths = {e.path for e in raised.value.errors}
    assert {"amount", "urgent", "applicant_ref"} <= paths
    assert "lots" not in str(raised.value)  # messages never echo submitted values
    assert runtime.case(case.id).revision == case.revision


def test_roles_and_claims_are_enforced(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    intake = item_named(case, "intake")
    with pytest.raises(NotAuthorized):
        runtime.complete(intake.id, INTAKE_FAST, "olga")
    add_user(db, "cleo", ["clerk"], None, "tester", clock)
    claimed = runtime.claim(intake.id, "clara")
    assert claimed.assignee == "clara"
    with pytest.raises(AlreadyClaimed):
        runtime.claim(intake.id, "cleo")
    with pytest.raises(AlreadyClaimed):
        runtime.complete(intake.id, INTAKE_FAST, "cleo")
    assert runtime.unclaim(intake.id, "clara").assignee is None
    runtime.complete(intake.id, INTAKE_FAST, "clara")
    with pytest.raises(TaskNotReady):
        runtime.complete(intake.id, INTAKE_FAST, "clara")
    with pytest.raises(CaseNotFound):
        runtime.case(case.id + 1000)


def test_overdue_approval_escalates_by_boundary_timer(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    case = runtime.complete(item_named(case, "intake").id, INTAKE_FAST, "clara")
    approve = item_named(case, "approve")

    clock.advance(days=2)
    assert runtime.fire_due_timers() == 0
    clock.advance(days=1, minutes=1)
    assert runtime.fire_due_timers() == 1
    case = runtime.case(case.id)
    assert [w.task_name for w in case.work_items] == ["escalate"]
    with pytest.raises(TaskNotReady):
        runtime.complete(approve.id, {"approved": True}, "sam")
    case = runtime.complete(item_named(case, "escalate").id, {"action_taken": "reminded"}, "sam")
    assert case.status == "completed"


def test_stored_state_has_no_spec_and_round_trips_task_data(
    db: Database, clock: FixedClock
) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {"origin": "outreach", "nested": {"b": 2, "a": 1}}, "clara")
    case = runtime.complete(item_named(case, "intake").id, INTAKE_FULL, "clara")
    with db.reader() as session:
        instance = session.get(ProcessInstance, case.id)
        assert instance is not None
        document = json.loads(gzip.decompress(instance.state))
    assert "spec" not in document and "subprocess_specs" not in document
    assert document["serializer_version"]

    runtime.specs = type(runtime.specs)()  # a fresh process: nothing cached
    with db.reader() as session:
        instance = session.get(ProcessInstance, case.id)
        assert instance is not None
        workflow = runtime._load(instance)
    check = next(t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "check_documents")
    assert check.data["score"] == 10000
    assert check.data["route"] == "full"
    assert check.data["nested"] == {"b": 2, "a": 1}
    assert list(check.data["nested"]) == ["b", "a"]
