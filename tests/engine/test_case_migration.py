"""Moving running cases to a new version of their process model, and refusing when it is unsafe.

The bundles under tests/fixtures/bundles/migration_*: version 1 reviews a
referral (a 5-day deadline on it) and then runs a "Checks" call activity with
one task. ``migration_v2`` retitles the review, moves it to the coordinator's
lane, makes its deadline 10 days and adds a task after it; ``migration_v2_removed``
drops the review; ``migration_v2_checks`` drops the task inside the checks and
``migration_v2_replaced`` puts another task in its place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import select

from engine import case_migration
from engine.case_migration import migrate, preview, target_version_id
from engine.case_suspension import suspend
from engine.clock import FixedClock, as_utc
from engine.db import Database
from engine.errors import NotAuthorized
from engine.hooks import Hooks
from engine.models import AuditEvent, ProcessInstance, TimerJob, WorkItem
from engine.runtime import Runtime
from engine.users import add_user
from engine.views import CaseView
from tests.engine.helpers import deploy

KEY = "migration_case"
COORDINATOR, AUTHORITY, SUPPORT = "cora", "ana", "sue"
USERS = {
    COORDINATOR: ["nrm_coordinator"],
    AUTHORITY: ["competent_authority"],
    SUPPORT: ["support_provider"],
}
REVIEW_GONE = "the waiting task 'Review referral' (review) is not in version 2"
CHECK_GONE = "the waiting task 'Check identity' (check_identity) is not in version 2"


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    deploy(db, "migration_v1", clock)
    for name, roles in USERS.items():
        add_user(db, name, roles, None, "tester", clock)
    hooks = Hooks(may_migrate=lambda roles: "nrm_coordinator" in roles)
    return Runtime(db, hooks, clock, script_time_limit=1.0)


def _at_review(runtime: Runtime) -> CaseView:
    case = runtime.start(KEY, {}, AUTHORITY)
    assert [w.task_name for w in case.work_items] == ["review"]
    return case


def _in_checks(runtime: Runtime) -> CaseView:
    case = runtime.complete(_at_review(runtime).work_items[0].id, {}, AUTHORITY)
    assert [w.task_name for w in case.work_items] == ["check_identity"]
    return case


def _version_2(db: Database, clock: FixedClock, bundle: str) -> int:
    """Deploy a day later, so a timer the move restarts gets a due time of its own."""
    clock.advance(days=1)
    deploy(db, bundle, clock)
    return target_version_id(db, 2, KEY, None)


def _complete(runtime: Runtime, case_id: int, task_name: str, actor: str) -> CaseView:
    item = next(w for w in runtime.case(case_id).work_items if w.task_name == task_name)
    return runtime.complete(item.id, {}, actor)


def _stored(db: Database, case_id: int) -> tuple[Any, ...]:
    """Everything a refused or failed move must leave exactly as it was."""
    with db.reader() as session:
        case = session.get(ProcessInstance, case_id)
        assert case is not None
        items = session.scalars(select(WorkItem).filter_by(instance_id=case_id))
        timers = session.scalars(select(TimerJob).filter_by(instance_id=case_id))
        return (
            (case.revision, case.model_version_id, case.state, case.status, case.updated_at),
            [(w.id, w.task_id, w.title, w.role, w.assignee, w.due_at, w.offered) for w in items],
            [(t.task_id, t.task_name, t.due_at) for t in timers],
        )


def _migrations(db: Database, case_id: int) -> list[AuditEvent]:
    with db.reader() as session:
        query = select(AuditEvent).filter_by(instance_id=case_id, action="case_migrated")
        return list(session.scalars(query))


def _timer_due(db: Database, case_id: int) -> Any:
    with db.reader() as session:
        return as_utc(session.scalars(select(TimerJob.due_at).filter_by(instance_id=case_id)).one())


def test_a_compatible_version_takes_the_cases_along_and_they_end_on_it(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    at_review, in_checks = _at_review(runtime), _in_checks(runtime)
    item = runtime.claim(at_review.work_items[0].id, AUTHORITY)
    v1 = target_version_id(db, 1, KEY, None)
    v2 = _version_2(db, clock, "migration_v2")

    checks = preview(runtime, [at_review.id, in_checks.id], v2)
    assert [(c.reference, c.from_version, c.to_version, c.can_move, c.reasons) for c in checks] == [
        (at_review.business_key, 1, 2, True, []),
        (in_checks.business_key, 1, 2, True, []),
    ]
    assert [c.changed for c in checks] == [["review", "review_deadline"], ["checks"]]
    results = migrate(
        runtime, [at_review.id, in_checks.id], v2, COORDINATOR, runtime.hooks.may_migrate
    )
    assert [(r.case_id, r.migrated, r.reason) for r in results] == [
        (at_review.id, True, ""),
        (in_checks.id, True, ""),
    ]

    moved = runtime.case(at_review.id).work_items[0]
    assert (moved.id, moved.title, moved.role) == (
        item.id,
        "Review the referral",
        "nrm_coordinator",
    )
    assert moved.assignee is None  # claimed under the old role, which the new lane does not take
    restarted = clock.now() + timedelta(days=10)  # a changed timer starts again on the move
    assert moved.due_at == restarted and _timer_due(db, at_review.id) == restarted
    (event,) = _migrations(db, at_review.id)
    assert (event.actor, event.model_version_id) == (COORDINATOR, v2)
    payload = json.loads(event.payload)
    assert payload == {
        "from_version_id": v1,
        "to_version_id": v2,
        "from_version": 1,
        "to_version": 2,
        "process": KEY,
        # the steps SpiffWorkflow had predicted after the reset tasks, predicted again from v2
        "removed_tasks": ["case_end", "checks", "escalate"],
    }

    _complete(runtime, at_review.id, "review", COORDINATOR)
    _complete(runtime, at_review.id, "record_review", AUTHORITY)  # the task version 2 added
    assert _complete(runtime, at_review.id, "check_identity", SUPPORT).status == "completed"
    assert _complete(runtime, in_checks.id, "check_identity", SUPPORT).status == "completed"
    with db.reader() as session:
        case = session.get(ProcessInstance, in_checks.id)
        assert case is not None and case.model_version_id == v2


def test_a_case_waiting_on_a_removed_task_stays_while_the_others_move(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    at_review, in_checks = _at_review(runtime), _in_checks(runtime)
    due = _timer_due(db, at_review.id)
    before = _stored(db, in_checks.id)
    v2 = _version_2(db, clock, "migration_v2_checks")

    check = preview(runtime, [in_checks.id], v2)[0]
    assert (check.can_move, check.reasons) == (False, [CHECK_GONE])
    results = migrate(runtime, [in_checks.id, at_review.id], v2, COORDINATOR, None)
    assert [(r.migrated, r.reason) for r in results] == [(False, CHECK_GONE), (True, "")]
    assert _stored(db, in_checks.id) == before
    assert _migrations(db, in_checks.id) == []
    # the review's deadline did not change in version 2: the move does not restart it
    assert _timer_due(db, at_review.id) == due
    assert runtime.case(at_review.id).work_items[0].due_at == due


def test_a_version_without_the_waiting_task_or_the_history_is_refused_and_nothing_changes(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    at_review, in_checks = _at_review(runtime), _in_checks(runtime)
    before = [_stored(db, at_review.id), _stored(db, in_checks.id)]
    v2 = _version_2(db, clock, "migration_v2_removed")

    checks = preview(runtime, [at_review.id, in_checks.id], v2)
    assert [c.reasons for c in checks] == [
        [REVIEW_GONE, "the waiting event '5 days' (review_deadline) is not in version 2"],
        # every open task is in version 2, but a stored state naming this one would not
        # load (the cancelled deadline was pruned from the state: it no longer matters)
        ["the task 'Review referral' (review) from the case's history is not in version 2"],
    ]
    results = migrate(runtime, [at_review.id, in_checks.id], v2, COORDINATOR, None)
    assert [r.migrated for r in results] == [False, False]
    assert results[0].reason == "; ".join(checks[0].reasons)
    assert [_stored(db, at_review.id), _stored(db, in_checks.id)] == before
    assert _migrations(db, at_review.id) == _migrations(db, in_checks.id) == []


def test_a_failure_while_moving_leaves_that_case_untouched_and_moves_the_next(
    runtime: Runtime,
    db: Database,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = _at_review(runtime), _at_review(runtime)
    before = _stored(db, first.id)
    v2 = _version_2(db, clock, "migration_v2")
    real, calls = case_migration.migrate_workflow, []

    def fails_once(*args: Any) -> Any:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("script failed on 'Jane Doe'")  # case data in the message
        return real(*args)

    monkeypatch.setattr(case_migration, "migrate_workflow", fails_once)
    results = migrate(runtime, [first.id, second.id], v2, COORDINATOR, None)
    assert [(r.migrated, r.reason) for r in results] == [
        (False, "the move failed (RuntimeError); the case stays on its version"),
        (True, ""),
    ]
    assert _stored(db, first.id) == before
    assert "Jane" not in caplog.text
    assert runtime.case(second.id).work_items[0].title == "Review the referral"


def test_a_task_replaced_in_its_place_is_the_same_task_to_spiffworkflow(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    """Alignment is by id, then by position: a task swapped for another between the same
    neighbours is changed, not removed, and the open item becomes its replacement."""
    case = _in_checks(runtime)
    v2 = _version_2(db, clock, "migration_v2_replaced")
    check = preview(runtime, [case.id], v2)[0]
    assert (check.can_move, check.changed) == (True, ["check_identity"])
    assert migrate(runtime, [case.id], v2, COORDINATOR, None)[0].migrated
    moved = runtime.case(case.id).work_items[0]
    assert (moved.id, moved.task_name, moved.title) == (
        case.work_items[0].id,
        "verify_documents",
        "Verify documents",
    )
    assert _complete(runtime, case.id, "verify_documents", SUPPORT).status == "completed"


def test_a_closed_case_does_not_move_and_a_suspended_one_moves_still_suspended(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    closed, paused = _in_checks(runtime), _at_review(runtime)
    _complete(runtime, closed.id, "check_identity", SUPPORT)
    suspend(runtime, paused.id, "Waiting for a court order.", COORDINATOR, None)
    v2 = _version_2(db, clock, "migration_v2")

    assert preview(runtime, [closed.id], v2)[0].reasons == [
        "the case is completed; only running cases move"
    ]
    assert [r.migrated for r in migrate(runtime, [closed.id, paused.id], v2, "cli", None)] == [
        False,
        True,
    ]
    with db.reader() as session:
        case = session.get(ProcessInstance, paused.id)
        assert case is not None and case.suspended_at is not None
        items = session.scalars(select(WorkItem).filter_by(instance_id=paused.id)).all()
        assert [(w.title, w.offered) for w in items] == [("Review the referral", False)]
    assert preview(runtime, [paused.id], v2)[0].reasons == ["the case is already on version 2"]


def test_only_whom_the_hook_allows_moves_cases(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = _at_review(runtime)
    before = _stored(db, case.id)
    v2 = _version_2(db, clock, "migration_v2")
    with pytest.raises(NotAuthorized):
        migrate(runtime, [case.id], v2, AUTHORITY, runtime.hooks.may_migrate)
    assert _stored(db, case.id) == before
    assert migrate(runtime, [case.id], v2, COORDINATOR, runtime.hooks.may_migrate)[0].migrated


def test_the_cli_previews_moves_and_says_which_cases_stayed(
    runtime: Runtime, db: Database, clock: FixedClock, nrmflow: Callable[..., Result]
) -> None:
    at_review, in_checks = _at_review(runtime), _in_checks(runtime)
    refs = [at_review.business_key, in_checks.business_key]
    _version_2(db, clock, "migration_v2_checks")

    dry = nrmflow("migrate", "--to-version", "2", *refs, "--dry-run", expect=1)
    assert dry.stdout.splitlines() == [
        f"{refs[0]}: can move v1 to v2",
        f"{refs[1]}: cannot move v1 to v2: {CHECK_GONE}",
    ]
    listed = json.loads(
        nrmflow("--json", "migrate", "--to-version", "2", refs[0], "--dry-run").stdout
    )
    assert [(c["reference"], c["can_move"]) for c in listed] == [(refs[0], True)]
    assert _migrations(db, at_review.id) == []

    refused = nrmflow("migrate", "--to-version", "2", refs[0], "--as", AUTHORITY, expect=1)
    assert "may not move cases" in refused.stderr
    nrmflow("migrate", "--to-version", "9", refs[0], expect=1)
    nrmflow("migrate", "--to-version", "2", expect=2)  # neither cases nor --all
    nrmflow("migrate", "--to-version", "2", "--all", expect=2)  # --all without --key

    moved = nrmflow("migrate", "--to-version", "2", refs[0], "--as", COORDINATOR)
    assert moved.stdout.strip() == f"{refs[0]}: moved to v2"
    rest = nrmflow("--json", "migrate", "--to-version", "2", "--all", "--key", KEY, expect=1)
    assert [(r["reference"], r["migrated"], r["reason"]) for r in json.loads(rest.stdout)] == [
        (refs[1], False, CHECK_GONE)
    ]
    assert [e.actor for e in _migrations(db, at_review.id)] == [COORDINATOR]
