"""``engine.doctor`` on real databases seeded with each kind of problem, and on a clean one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select, update

from engine.clock import FixedClock, as_utc
from engine.db import Database, alembic_config
from engine.doctor import Finding, Thresholds, diagnose
from engine.incidents import IncidentRaised
from engine.models import (
    AuditEvent,
    AuditHead,
    Incident,
    OutboundMessage,
    ProcessInstance,
    TimerJob,
    WorkItem,
)
from engine.retries import RetryPolicy
from engine.runtime import Runtime
from engine.views import CaseView
from tests.engine.helpers import item_named, sample_runtime, tamper_spec

INTAKE = {"applicant_ref": "R-1", "amount": 5000, "urgent": False}
THRESHOLDS = Thresholds.for_worker(5)  # timers are late after 2 * 5 s + 60 s = 70 s


def _problems(db: Database, clock: FixedClock) -> list[Finding]:
    return [f for f in diagnose(db, clock, THRESHOLDS) if f.needs_attention]


def _codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def _timer_case(db: Database, clock: FixedClock) -> tuple[Runtime, CaseView]:
    """A case waiting only on a timer due in an hour."""
    runtime = sample_runtime(db, clock, bundle="timers")
    return runtime, runtime.start("timer_case", {}, "clara")


def test_a_clean_database_needs_no_attention(db: Database, clock: FixedClock) -> None:
    runtime, _ = _timer_case(db, clock)
    runtime.start("timer_case", {}, "clara")
    findings = diagnose(db, clock, THRESHOLDS)
    assert [f.severity for f in findings] == ["ok"] * 7
    assert _codes(findings) == [
        "schema",
        "stuck_cases",
        "incidents",
        "timers",
        "outbox",
        "erasure",
        "audit_chain",
    ]


def test_an_unmigrated_database_lists_every_pending_migration(
    database_url: str, clock: FixedClock
) -> None:
    db = Database(database_url)
    with db.engine.connect():
        pass  # an empty SQLite file, as a fresh install has before ``nrmflow db upgrade``
    try:
        scripts = ScriptDirectory.from_config(alembic_config())
        every = [r.revision for r in scripts.walk_revisions()][::-1]
        [finding] = diagnose(db, clock, THRESHOLDS)
    finally:
        db.dispose()
    assert finding.code == "schema_pending" and finding.fix == "nrmflow db upgrade"
    assert f"{len(every)} migration(s) pending ({', '.join(every)})" in finding.message


def test_a_database_one_revision_behind_names_the_pending_one(
    db: Database, clock: FixedClock
) -> None:
    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    [finding] = diagnose(db, clock, THRESHOLDS)  # the other checks wait for the upgrade
    assert finding.severity == "error" and finding.code == "schema_pending"
    assert f"1 migration(s) pending ({head})" in finding.message
    db.upgrade()
    assert not _problems(db, clock)


def test_a_database_from_a_newer_nrmflow_is_not_downgraded(db: Database, clock: FixedClock) -> None:
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    [finding] = diagnose(db, clock, THRESHOLDS)
    assert finding.code == "schema_unknown" and "9999" in finding.message


def test_an_unreachable_or_missing_database_is_a_finding(tmp_path: Path, clock: FixedClock) -> None:
    missing = tmp_path / "missing.db"
    [finding] = diagnose(Database(f"sqlite:///{missing}"), clock, THRESHOLDS)
    assert finding.code == "database_missing" and not missing.exists()  # nothing created

    [finding] = diagnose(Database(f"sqlite:///{tmp_path}"), clock, THRESHOLDS)  # a directory
    assert finding.code == "database_unreachable" and finding.severity == "error"


def test_a_case_nothing_can_move_on_is_stuck(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    assert case.work_items
    with db.transaction() as session:
        session.execute(delete(WorkItem).where(WorkItem.instance_id == case.id))
        session.execute(delete(TimerJob).where(TimerJob.instance_id == case.id))

    [finding] = _problems(db, clock)
    assert finding.code == "stuck_case" and finding.severity == "error"
    assert case.business_key in finding.message and "no open incident" in finding.message
    assert finding.fix is not None and f"/cases/{case.id}/history" in finding.fix


def test_a_timer_case_without_its_timer_is_stuck_unless_suspended(
    db: Database, clock: FixedClock
) -> None:
    _, case = _timer_case(db, clock)
    with db.transaction() as session:
        session.execute(delete(TimerJob))
    assert _codes(_problems(db, clock)) == ["stuck_case"]

    _suspend(db, case.id, clock)
    assert not _problems(db, clock)


def test_a_timer_late_beyond_the_worker_interval_asks_for_the_worker(
    db: Database, clock: FixedClock
) -> None:
    _, case = _timer_case(db, clock)
    clock.advance(hours=1, seconds=60)  # late, but a worker polling every 5 s may yet come
    assert not _problems(db, clock)

    clock.advance(days=3)
    [finding] = _problems(db, clock)
    assert finding.code == "timers_overdue" and case.business_key in finding.message
    assert "3 d ago" in finding.message and "wait_hour" in finding.message
    assert finding.fix is not None and "nrmflow worker" in finding.fix

    _suspend(db, case.id, clock)  # a suspended case's timers wait for its resumption
    assert not _problems(db, clock)


def _failed_intake(runtime: Runtime) -> CaseView:
    """A case whose intake completion failed on the broken script: an open incident."""
    case = runtime.start("sample_case", {}, "clara")
    with pytest.raises(IncidentRaised):
        runtime.complete(item_named(case, "intake").id, INTAKE, "clara")
    return case


def _broken_sample(db: Database, clock: FixedClock) -> Runtime:
    """The sample process with its scoring script broken, on a runtime that reads it so."""
    runtime = sample_runtime(db, clock)
    tamper_spec(db, "sample_case", "score = amount * 2", "score = undefined_name * 2")
    return Runtime(db, runtime.hooks, clock, script_time_limit=1.0)  # the spec cache is per runtime


def test_open_incidents_are_counted_and_the_oldest_named(db: Database, clock: FixedClock) -> None:
    runtime = _broken_sample(db, clock)
    oldest = _failed_intake(runtime)
    clock.advance(hours=2)
    _failed_intake(runtime)

    [finding] = _problems(db, clock)  # each case keeps its intake item: neither is stuck

    assert finding.code == "incidents_open" and finding.severity == "warning"
    assert finding.message.startswith("2 open incident(s) waiting for a coordinator")
    assert f"(task, script_error at 'Record intake') of case {oldest.business_key}" in (
        finding.message
    )
    assert "first failed 2026-03-02 09:00 UTC (2 h ago, 1 occurrence(s))" in finding.message
    assert finding.fix is not None and "nrmflow incidents list" in finding.fix


def test_an_open_incident_explains_a_case_nothing_else_moves_on(
    db: Database, clock: FixedClock
) -> None:
    case = _failed_intake(_broken_sample(db, clock))
    with db.transaction() as session:  # its branch gone: only the incident is left
        session.execute(delete(WorkItem).where(WorkItem.instance_id == case.id))

    assert _codes(_problems(db, clock)) == ["incidents_open"]  # not also a stuck case

    with db.transaction() as session:  # closed, it explains nothing any more
        session.execute(update(Incident).values(status="resolved"))
    [finding] = _problems(db, clock)
    assert finding.code == "stuck_case" and case.business_key in finding.message


def _failing_reminder(db: Database, clock: FixedClock, retry: RetryPolicy) -> Runtime:
    """The timer case past its hour, its reminder's script broken: the reminder's firing fails."""
    runtime = sample_runtime(db, clock, bundle="timers")
    tamper_spec(db, "timer_case", "reminders = reminders + 1", "reminders = undefined_name + 1")
    runtime = Runtime(db, runtime.hooks, clock, script_time_limit=1.0, timer_retry=retry)
    runtime.start("timer_case", {}, "clara")
    clock.advance(hours=1, minutes=1)
    assert runtime.fire_due_timers() == 1  # the hour; the reminder is due 10 minutes later
    return runtime


def _reminder(db: Database) -> TimerJob:
    with db.reader() as session:
        return session.scalars(select(TimerJob).filter_by(task_name="reminder")).one()


def test_a_held_timer_is_an_incident_not_an_overdue_timer(db: Database, clock: FixedClock) -> None:
    runtime = _failing_reminder(db, clock, RetryPolicy(retries=0))
    clock.advance(minutes=11)
    runtime.fire_due_timers()  # fails, and with no automatic retry it is held at once
    assert _reminder(db).on_hold

    clock.advance(days=3)  # no worker could fire it: it waits for a coordinator

    assert _codes(_problems(db, clock)) == ["incidents_open"]


def test_a_timer_waiting_for_its_retry_is_late_only_past_its_retry_time(
    db: Database, clock: FixedClock
) -> None:
    runtime = _failing_reminder(db, clock, RetryPolicy())  # retries after 60, 120, 240 s
    due = as_utc(_reminder(db).due_at)
    clock.set(due + timedelta(seconds=1))
    runtime.fire_due_timers()  # the first try fails: retried 60 s later
    retry_at = _reminder(db).retry_at
    assert retry_at is not None and as_utc(retry_at) == due + timedelta(seconds=61)

    clock.set(due + timedelta(seconds=100))  # 100 s past due, but within 70 s of its retry
    assert not _problems(db, clock)

    clock.set(as_utc(retry_at) + timedelta(seconds=71))
    [finding] = _problems(db, clock)
    assert finding.code == "timers_overdue"
    assert "was due for its retry after 1 failed attempt(s) 2026-03-02 10:12 UTC" in (
        finding.message
    )
    assert "(71 s ago)" in finding.message


def test_a_partner_message_undelivered_after_many_attempts_is_reported(
    db: Database, clock: FixedClock
) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    fresh = _outbound(case.id, clock, "m-fresh", attempts=1)
    failing = _outbound(case.id, clock, "m-failing", attempts=6, error="connection refused")
    with db.transaction() as session:
        session.add_all([fresh, failing])
    [finding] = _problems(db, clock)
    assert finding.code == "outbox_undelivered" and finding.severity == "warning"
    assert finding.message.startswith("1 partner message(s)")
    assert "6 attempt(s), last error: connection refused" in finding.message
    assert finding.fix is not None and "nrmflow partners retry" in finding.fix

    clock.advance(hours=2)  # now the fresh one has waited too long as well
    [finding] = _problems(db, clock)
    assert finding.message.startswith("2 partner message(s)")


def test_a_tampered_audit_event_breaks_the_chain(db: Database, clock: FixedClock) -> None:
    sample_runtime(db, clock)
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(payload="{}"))
    [finding] = _problems(db, clock)
    assert finding.code == "audit_chain_broken"
    assert "broken at event 2" in finding.message
    assert finding.fix is not None and "nrmflow audit verify" in finding.fix
    assert "/audit/integrity" in finding.fix


def test_a_log_wiped_with_its_head_is_noticed(db: Database, clock: FixedClock) -> None:
    sample_runtime(db, clock)
    with db.transaction() as session:
        session.execute(delete(AuditEvent))
        session.execute(delete(AuditHead))
    assert _codes(_problems(db, clock)) == ["audit_head_missing"]


def test_doctor_changes_nothing(db: Database, clock: FixedClock) -> None:
    sample_runtime(db, clock)
    with db.reader() as session:
        before = session.scalars(select(AuditHead.seq)).one()
    diagnose(db, clock, THRESHOLDS)
    with db.reader() as session:
        assert session.scalars(select(AuditHead.seq)).one() == before


def _suspend(db: Database, instance_id: int, clock: FixedClock) -> None:
    with db.transaction() as session:
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .values(suspended_at=clock.now())
        )


def _outbound(
    instance_id: int, clock: FixedClock, message_id: str, attempts: int, error: str | None = None
) -> OutboundMessage:
    return OutboundMessage(
        instance_id=instance_id,
        message_name="partner_request",
        correlation="REF",
        payload="{}",
        created_at=clock.now() - timedelta(minutes=5),
        message_id=message_id,
        partner="origin",
        attempts=attempts,
        last_error=error,
    )
