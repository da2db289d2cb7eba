"""A failed step becomes an incident: rolled back, recorded without case data, retried or cancelled.

Each kind the issue names is made real here: a script error after a task, a
decision table with no matching rule, a timer whose step raises (retried
with back-off, then held), and a message a partner does not take.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.clock import FixedClock, as_utc
from engine.db import Database
from engine.errors import FormInvalid, NotAuthorized
from engine.hooks import Hooks
from engine.incident_commands import cancel, retry
from engine.incidents import IncidentClosed, IncidentRaised, IncidentView, list_incidents
from engine.models import AuditEvent, OutboundMessage, TimerJob, WorkItem
from engine.outbox import deliver_due
from engine.retries import RetryPolicy
from engine.runtime import Runtime
from engine.views import CaseView
from tests.engine.helpers import item_named, sample_runtime, tamper_spec
from tests.engine.partner_fakes import DIRECTORY, WALL_TIME, FakePartner

SECRET_REF = "Maria-Ivanova-Doe"  # stands for personal data: it must never reach an incident
INTAKE = {"applicant_ref": SECRET_REF, "amount": 5000, "urgent": False}
GOOD_SCRIPT, BAD_SCRIPT = "score = amount * 2", "score = undefined_name * 2"
GOOD_REMINDER, BAD_REMINDER = "reminders = reminders + 1", "reminders = undefined_name + 1"


def _fresh(db: Database, runtime: Runtime, **kwargs: object) -> Runtime:
    """A new process: it reads the stored spec again (the spec cache is per runtime)."""
    return Runtime(db, runtime.hooks, runtime.clock, script_time_limit=1.0, **kwargs)  # type: ignore[arg-type]


def _broken_sample(db: Database, clock: FixedClock) -> tuple[Runtime, CaseView]:
    runtime = sample_runtime(db, clock)
    tamper_spec(db, "sample_case", GOOD_SCRIPT, BAD_SCRIPT)
    runtime = _fresh(db, runtime)
    return runtime, runtime.start("sample_case", {}, "clara")


def _only_incident(db: Database, status: str | None = "open") -> IncidentView:
    (incident,) = list_incidents(db, status).incidents
    return incident


def _actions(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    with db.reader() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        return [(e.actor, e.action, json.loads(e.payload)) for e in events]


def _incident_events(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    return [e for e in _actions(db) if e[1].startswith("incident_")]


def test_a_script_error_after_a_task_becomes_an_incident_and_keeps_the_answers(
    db: Database, clock: FixedClock
) -> None:
    runtime, case = _broken_sample(db, clock)
    intake = item_named(case, "intake")

    with pytest.raises(IncidentRaised) as raised:
        runtime.complete(intake.id, INTAKE, "clara")

    assert "Score" in str(raised.value) and "kept as a draft" in str(raised.value)
    after = runtime.case(case.id)
    assert after.revision == case.revision  # rolled back to the last committed state
    assert [w.id for w in after.work_items] == [intake.id]
    incident = _only_incident(db)
    assert (incident.id, incident.case_id, incident.reference) == (
        raised.value.incident_id,
        case.id,
        case.business_key,
    )
    assert (incident.source, incident.error_type, incident.element_id) == (
        "task",
        "script_error",
        "score",
    )
    assert (incident.task_title, incident.submitted_by, incident.occurrences) == (
        "Record intake",
        "clara",
        1,
    )
    assert (incident.process, incident.version) == ("sample_case", 1)
    assert "undefined_name" in incident.detail and "NameError" in incident.detail
    assert "Traceback" not in incident.detail
    for text in (incident.message, incident.detail, json.dumps(_incident_events(db))):
        assert SECRET_REF not in text and "5000" not in text
    with db.reader() as session:
        item = session.get(WorkItem, intake.id)
        assert item is not None and item.draft_by == "clara"
        assert json.loads(str(item.draft)) == INTAKE
    ((actor, action, payload),) = _incident_events(db)
    assert (actor, action) == ("system:incidents", "incident_raised")
    assert payload["incident"] == incident.id and payload["error_type"] == "script_error"

    with pytest.raises(IncidentRaised):  # the same failure again is one more occurrence
        runtime.complete(intake.id, INTAKE, "clara")
    assert _only_incident(db).occurrences == 2


def test_retry_after_the_fix_completes_the_task_with_the_kept_answers(
    db: Database, clock: FixedClock
) -> None:
    runtime, case = _broken_sample(db, clock)
    intake = item_named(case, "intake")
    with pytest.raises(IncidentRaised) as raised:
        runtime.complete(intake.id, INTAKE, "clara")
    tamper_spec(db, "sample_case", BAD_SCRIPT, GOOD_SCRIPT)  # the fix
    fixed = _fresh(db, runtime)

    outcome = retry(fixed, raised.value.incident_id, "cli", None)

    assert outcome.resolved and outcome.incident.status == "resolved"
    assert outcome.incident.closed_by == "cli"
    moved = fixed.case(case.id)
    assert moved.revision == case.revision + 1
    assert "intake" not in [w.task_name for w in moved.work_items]
    completed = [e for e in _actions(db) if e[1] == "task_completed"]
    ((actor, _, payload),) = completed
    assert actor == "clara"  # their answers, recorded as theirs
    assert payload["retried_by"] == "cli" and payload["incident"] == outcome.incident.id
    assert [(a, p.get("outcome")) for a, _, p in _incident_events(db)[1:]] == [("cli", "resolved")]
    assert list_incidents(db).total == 0
    with pytest.raises(IncidentClosed):
        retry(fixed, outcome.incident.id, "cli", None)


def test_a_retry_that_fails_again_counts_an_occurrence_and_changes_nothing(
    db: Database, clock: FixedClock
) -> None:
    runtime, case = _broken_sample(db, clock)
    intake = item_named(case, "intake")
    with pytest.raises(IncidentRaised) as raised:
        runtime.complete(intake.id, INTAKE, "clara")

    outcome = retry(runtime, raised.value.incident_id, "cli", None)

    assert not outcome.resolved
    assert (outcome.incident.status, outcome.incident.occurrences) == ("open", 2)
    assert runtime.case(case.id).revision == case.revision
    outcomes = [p.get("outcome") for _, a, p in _incident_events(db) if a == "incident_retried"]
    assert outcomes == ["failed again"]


def test_a_decision_table_with_no_matching_rule_is_an_incident(
    db: Database, clock: FixedClock
) -> None:
    runtime = sample_runtime(db, clock)
    tamper_spec(db, "sample_case", '">= 1000"', '">= 100000"')  # 5000 now matches no rule
    runtime = _fresh(db, runtime)
    case = runtime.start("sample_case", {}, "clara")

    with pytest.raises(IncidentRaised):
        runtime.complete(item_named(case, "intake").id, INTAKE, "clara")

    incident = _only_incident(db)
    assert (incident.error_type, incident.element_id) == ("no_matching_rule", "decide_route")
    assert "Decide route" in incident.message and "route_table" in incident.detail
    assert SECRET_REF not in incident.detail


def _failing_timers(db: Database, clock: FixedClock) -> tuple[Runtime, CaseView]:
    runtime = sample_runtime(db, clock, bundle="timers")
    tamper_spec(db, "timer_case", GOOD_REMINDER, BAD_REMINDER)
    runtime = _fresh(db, runtime)
    case = runtime.start("timer_case", {}, "clara")
    clock.advance(hours=1, minutes=1)
    assert runtime.fire_due_timers() == 1  # the hour passes; the 10-minute reminder is set
    return runtime, case


def _reminder_job(db: Database) -> TimerJob:
    with db.reader() as session:
        return session.scalars(select(TimerJob).filter_by(task_name="reminder")).one()


def test_a_failing_timer_is_retried_with_back_off_then_held_as_an_incident(
    db: Database, clock: FixedClock
) -> None:
    runtime, case = _failing_timers(db, clock)
    due = as_utc(_reminder_job(db).due_at)
    tried_at = []
    moment = due + timedelta(seconds=1)
    for wait in (60, 120, 240, None):
        assert runtime.fire_due_timers(moment) == 0
        job = _reminder_job(db)
        tried_at.append(job.attempts)
        if wait is None:
            break
        assert job.retry_at is not None
        assert as_utc(job.retry_at) == moment + timedelta(seconds=wait)
        runtime.fire_due_timers(moment + timedelta(seconds=wait))  # not yet: nothing tried
        assert _reminder_job(db).attempts == job.attempts
        moment += timedelta(seconds=wait + 1)

    assert tried_at == [1, 2, 3, 4]  # the first try and 3 automatic retries
    held = _reminder_job(db)
    assert held.on_hold and held.retry_at is None
    incident = _only_incident(db)
    assert (incident.source, incident.error_type, incident.element_id) == (
        "timer",
        "script_error",
        "count_reminder",
    )
    assert incident.case_id == case.id
    for later in (timedelta(minutes=5), timedelta(days=3)):  # held: never tried again by itself
        assert runtime.fire_due_timers(moment + later) == 0
    assert _reminder_job(db).attempts == 4
    assert _only_incident(db).occurrences == 1


def _held_timer(db: Database, clock: FixedClock) -> tuple[Runtime, CaseView]:
    runtime = sample_runtime(db, clock, bundle="timers")
    tamper_spec(db, "timer_case", GOOD_REMINDER, BAD_REMINDER)
    runtime = _fresh(db, runtime, timer_retry=RetryPolicy(retries=0))
    case = runtime.start("timer_case", {}, "clara")
    clock.advance(hours=1, minutes=1)
    runtime.fire_due_timers()
    clock.advance(minutes=11)
    runtime.fire_due_timers()  # no automatic retries: held at once
    assert _reminder_job(db).on_hold
    return runtime, case


def test_retrying_a_held_timer_after_the_fix_fires_it_once(db: Database, clock: FixedClock) -> None:
    runtime, case = _held_timer(db, clock)
    tamper_spec(db, "timer_case", BAD_REMINDER, GOOD_REMINDER)
    fixed = _fresh(db, runtime)

    outcome = retry(fixed, _only_incident(db).id, "cli", None)

    assert outcome.resolved
    fired = [p["timer"] for _, a, p in _actions(db) if a == "timer_fired"]
    assert fired == ["wait_hour", "reminder"]
    job = _reminder_job(db)  # the cycle's next round, with a clean slate
    assert (job.on_hold, job.attempts, job.retry_at) == (False, 0, None)
    assert fixed.case(case.id).revision > case.revision


def test_a_suspended_case_keeps_its_held_timer_until_it_is_resumed(
    db: Database, clock: FixedClock
) -> None:
    from engine.case_suspension import CaseSuspended, suspend

    runtime, case = _held_timer(db, clock)
    suspend(runtime, case.id, "waiting for a court order", "cli", None)
    with pytest.raises(CaseSuspended):
        retry(runtime, _only_incident(db).id, "cli", None)
    assert _only_incident(db).occurrences == 1


def test_cancelling_a_held_timer_drops_its_branch_and_the_case_goes_on(
    db: Database, clock: FixedClock
) -> None:
    runtime, case = _held_timer(db, clock)

    closed = cancel(runtime, _only_incident(db).id, "reminders are not needed here", "cli", None)

    assert (closed.status, closed.closed_by) == ("cancelled", "cli")
    with db.reader() as session:
        assert session.scalars(select(TimerJob).filter_by(task_name="reminder")).first() is None
    after = runtime.case(case.id)
    assert after.status != "completed" and [w.task_name for w in after.work_items] == ["follow_up"]
    (event,) = [p for _, a, p in _actions(db) if a == "incident_cancelled"]
    assert event["reason"] == "reminders are not needed here" and event["case_ended"] is False


def test_cancelling_the_only_branch_ends_the_case_and_says_so(
    db: Database, clock: FixedClock
) -> None:
    runtime, case = _broken_sample(db, clock)
    with pytest.raises(IncidentRaised) as raised:
        runtime.complete(item_named(case, "intake").id, INTAKE, "clara")

    cancel(runtime, raised.value.incident_id, "referral withdrawn by the person", "cli", None)

    after = runtime.case(case.id)
    assert after.work_items == [] and after.status == "completed"
    (event,) = [p for _, a, p in _actions(db) if a == "incident_cancelled"]
    assert event["case_ended"] is True


def test_cancel_needs_a_reason_and_a_coordinator(db: Database, clock: FixedClock) -> None:
    runtime, case = _broken_sample(db, clock)
    with pytest.raises(IncidentRaised) as raised:
        runtime.complete(item_named(case, "intake").id, INTAKE, "clara")
    incident_id = raised.value.incident_id

    with pytest.raises(FormInvalid):
        cancel(runtime, incident_id, "   ", "cli", None)
    with pytest.raises(NotAuthorized):
        cancel(runtime, incident_id, "a reason", "clara", lambda roles: "coordinator" in roles)
    with pytest.raises(NotAuthorized):
        retry(runtime, incident_id, "clara", lambda roles: "coordinator" in roles)
    assert _only_incident(db).status == "open"
    assert runtime.case(case.id).revision == case.revision


def _undeliverable(db: Database, clock: FixedClock) -> tuple[Runtime, CaseView]:
    sample_runtime(db, clock, bundle="messages")
    runtime = Runtime(db, Hooks(), clock, script_time_limit=1.0, partners=DIRECTORY)
    case = runtime.start("message_case", {"topic": "documents"}, "clara")
    partner = FakePartner(*["connection refused"] * 4)
    policy = RetryPolicy(base_seconds=30, retries=3)
    moment = clock.now()
    for wait in (30, 60, 120, 0):
        deliver_due(db, DIRECTORY, moment, send=partner, retry=policy, wall_clock=lambda: WALL_TIME)
        moment += timedelta(seconds=wait)
    assert len(partner.sent) == 4
    later = deliver_due(db, DIRECTORY, moment + timedelta(days=1), send=partner, retry=policy)
    assert later.failed == [] and len(partner.sent) == 4  # held: not sent again by itself
    return runtime, case


def test_a_message_the_partner_never_takes_becomes_an_incident(
    db: Database, clock: FixedClock
) -> None:
    _runtime, case = _undeliverable(db, clock)

    incident = _only_incident(db)
    assert (incident.source, incident.error_type, incident.partner) == (
        "delivery",
        "delivery_failed",
        "origin",
    )
    assert incident.case_id == case.id and "partner_request" in incident.message
    assert "connection refused" in incident.detail and "documents" not in incident.detail
    with db.reader() as session:
        message = session.scalars(select(OutboundMessage)).one()
        assert (message.on_hold, message.attempts, message.next_attempt_at) == (True, 4, None)


def test_retrying_a_held_message_sends_it_once_the_partner_is_back(
    db: Database, clock: FixedClock
) -> None:
    runtime, _case = _undeliverable(db, clock)
    incident_id = _only_incident(db).id

    assert not retry(runtime, incident_id, "cli", None, send=FakePartner("HTTP 503")).resolved
    assert _only_incident(db).occurrences == 2
    back = FakePartner()
    assert retry(runtime, incident_id, "cli", None, send=back).resolved

    assert len(back.sent) == 1
    with db.reader() as session:
        message = session.scalars(select(OutboundMessage)).one()
        assert message.delivered_at is not None and not message.on_hold
    assert [a for _, a, _ in _actions(db)].count("message_delivered") == 1


def test_giving_up_a_held_message_keeps_it_held(db: Database, clock: FixedClock) -> None:
    runtime, _case = _undeliverable(db, clock)

    closed = cancel(runtime, _only_incident(db).id, "sent by secure post instead", "cli", None)

    assert closed.status == "cancelled"
    with db.reader() as session:
        message = session.scalars(select(OutboundMessage)).one()
        assert message.on_hold and message.delivered_at is None
