"""Suspending a case stops its clock and its inbox; resuming fires what fell due, once.

Driven on the NRM library: after identification the competent authority's
reasonable-grounds decision is open and the RG target timer waits.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from click.testing import Result
from sqlalchemy import select

from engine.case_suspension import (
    REASON_MAX_LENGTH,
    CaseClosed,
    CaseNotSuspended,
    CaseSuspended,
    resume,
    suspend,
)
from engine.clock import FixedClock
from engine.db import Database
from engine.errors import FormInvalid, NotAuthorized
from engine.inbox import InboxFilters, inbox_page
from engine.models import AuditEvent, ProcessInstance
from engine.runtime import Runtime
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime
from tests.workflows.nrm_steps import identify_adult

COORDINATOR = "demo.coordinator"
AUTHORITY = "demo.authority"
REASON = "Waiting for the court's order on the person's residence."


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    return nrm_runtime(db, clock)


@pytest.fixture
def case(runtime: Runtime, db: Database, clock: FixedClock) -> NrmCase:
    """Identified: the RG decision is open for the competent authority, its target timer set."""
    case = NrmCase.refer(runtime, db, clock)
    identify_adult(case)
    assert "decide_reasonable_grounds" in case.open_tasks()
    assert "rg_target_missed" in case.waiting_timers()
    return case


def _suspend(case: NrmCase, reason: str = REASON, actor: str = COORDINATOR) -> None:
    suspend(case.runtime, case.view.id, reason, actor, case.runtime.hooks.may_suspend)


def _resume(case: NrmCase, reason: str | None = None, actor: str = COORDINATOR) -> None:
    resume(case.runtime, case.view.id, reason, actor, case.runtime.hooks.may_suspend)


def _offered(case: NrmCase, username: str = AUTHORITY) -> set[str]:
    """The tasks of this case in the person's inbox and in their work-item list."""
    page = inbox_page(
        case.db, ["competent_authority"], username, InboxFilters(), "due", 1, case.clock.now()
    )
    in_inbox = {e.item.task_name for e in page.items if e.item.instance_id == case.view.id}
    listed = {
        i.task_name
        for i in case.runtime.work_items(actor=username)
        if i.instance_id == case.view.id
    }
    assert in_inbox == listed
    return in_inbox


def _stored(db: Database, instance_id: int) -> tuple[object, ...]:
    """Everything suspending must leave as it was, and ``suspended_at`` (None when running)."""
    with db.reader() as session:
        i = session.get(ProcessInstance, instance_id)
        assert i is not None
        return (i.revision, i.status, i.state, i.updated_at, i.completed_at, i.suspended_at)


def _events(db: Database, instance_id: int, *actions: str) -> list[AuditEvent]:
    with db.reader() as session:
        query = (
            select(AuditEvent)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.action.in_(actions))
            .order_by(AuditEvent.seq)
        )
        return list(session.scalars(query))


def test_a_suspended_case_fires_no_timer_and_resuming_fires_the_overdue_one_once(
    case: NrmCase,
) -> None:
    due = case.waiting_timers()["rg_target_missed"]
    _suspend(case)
    assert case.advance_to(due + timedelta(days=2)) == []
    assert case.waiting_timers()["rg_target_missed"] == due  # kept, still due
    assert "escalate_overdue_decision" not in case.open_tasks()

    _resume(case, "The order arrived.")
    assert case.fire_due() == ["rg_target_missed"]
    assert case.fire_due() == []
    assert case.item("escalate_overdue_decision").role == "nrm_coordinator"
    assert [name for name, _ in case.timers_fired()] == ["rg_target_missed"]


def test_a_suspended_case_offers_no_task_and_refuses_work_on_it(case: NrmCase) -> None:
    item = case.item("decide_reasonable_grounds")
    assert _offered(case) == {"decide_reasonable_grounds"}
    _suspend(case)
    assert _offered(case) == set()
    with pytest.raises(CaseSuspended):
        case.runtime.claim(item.id, AUTHORITY)
    with pytest.raises(CaseSuspended):
        case.runtime.save_draft(item.id, {"rg_decision": "positive"}, AUTHORITY)
    with pytest.raises(CaseSuspended):
        case.runtime.complete(item.id, answers.rg("positive"), AUTHORITY)

    _resume(case)
    assert _offered(case) == {"decide_reasonable_grounds"}
    case.runtime.claim(item.id, AUTHORITY)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")


def test_a_suspended_case_takes_no_message(case: NrmCase) -> None:
    _suspend(case)
    with pytest.raises(CaseSuspended):
        case.deliver("travel_documents_issued", {"issued_on": "2026-05-01"}, "demo.partners")


def test_suspend_and_resume_are_audited_with_the_reason_and_change_nothing_else(
    case: NrmCase, db: Database, clock: FixedClock
) -> None:
    before = _stored(db, case.view.id)
    _suspend(case, f"  {REASON}  ")
    clock.advance(days=3, hours=2)
    _resume(case, "The order arrived.")
    assert _stored(db, case.view.id) == before
    suspended, resumed = _events(db, case.view.id, "case_suspended", "case_resumed")
    assert (suspended.actor, suspended.action, json.loads(suspended.payload)) == (
        COORDINATOR,
        "case_suspended",
        {"reason": REASON},
    )
    assert json.loads(resumed.payload) == {
        "reason": "The order arrived.",
        "suspended_for": "P3DT2H",
    }
    _suspend(case)
    _resume(case)
    assert json.loads(_events(db, case.view.id, "case_resumed")[-1].payload) == {
        "suspended_for": "PT0S"
    }


def test_only_the_coordinator_suspends_or_resumes(case: NrmCase) -> None:
    with pytest.raises(NotAuthorized):
        _suspend(case, actor="demo.caseworker")
    _suspend(case)
    with pytest.raises(NotAuthorized):
        _resume(case, actor=AUTHORITY)


def test_twice_running_and_closed_cases_are_refused(case: NrmCase, db: Database) -> None:
    with pytest.raises(CaseNotSuspended):
        _resume(case)
    _suspend(case)
    with pytest.raises(CaseSuspended):
        _suspend(case, "again")
    assert len(_events(db, case.view.id, "case_suspended")) == 1
    with db.transaction() as session:  # as a closed case stands
        instance = session.get(ProcessInstance, case.view.id)
        assert instance is not None
        instance.status, instance.suspended_at = "completed", None
    with pytest.raises(CaseClosed):
        _suspend(case)


@pytest.mark.parametrize("reason", ["", "   ", "x" * (REASON_MAX_LENGTH + 1)])
def test_a_reason_is_required_and_bounded(case: NrmCase, reason: str) -> None:
    with pytest.raises(FormInvalid):
        _suspend(case, reason)
    _suspend(case)
    if reason.strip():
        with pytest.raises(FormInvalid):
            _resume(case, reason)


def test_the_cli_suspends_and_resumes_by_reference_as_the_coordinator(
    case: NrmCase, nrmflow: Callable[..., Result], db: Database
) -> None:
    reference = case.view.business_key
    refused = nrmflow("suspend", reference, "--reason", REASON, "--as", "demo.caseworker", expect=1)
    assert "may not suspend" in refused.output
    result = nrmflow("--json", "suspend", reference, "--reason", REASON, "--as", COORDINATOR)
    assert json.loads(result.output)["suspended"] is True
    assert "already suspended" in nrmflow("suspend", reference, "--reason", "x", expect=1).output
    assert f"case {reference} is running again" in nrmflow("resume", reference).output
    assert "not suspended" in nrmflow("resume", reference, "--as", COORDINATOR, expect=1).output
    nrmflow("suspend", "2026-NOPE-NOPE", "--reason", REASON, expect=1)
    actors = [
        (e.action, e.actor) for e in _events(db, case.view.id, "case_suspended", "case_resumed")
    ]
    assert actors == [("case_suspended", COORDINATOR), ("case_resumed", "cli")]


def test_a_case_suspended_after_the_worker_read_its_due_timers_is_skipped(case: NrmCase) -> None:
    """The worker reads due cases, then fires each in its own transaction: a suspension between
    the two is seen under the case's lock, and its timers wait."""
    due = case.waiting_timers()["rg_target_missed"]
    _suspend(case)
    assert case.runtime._fire_instance(case.view.id, due + timedelta(minutes=1)) == 0
    assert case.timers_fired() == []
