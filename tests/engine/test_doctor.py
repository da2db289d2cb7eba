"""``engine.doctor`` on real databases seeded with each kind of problem, and on a clean one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import delete, select, update

from engine.clock import FixedClock
from engine.db import Database, alembic_config
from engine.doctor import Finding, Thresholds, diagnose
from engine.models import (
    AuditEvent,
    AuditHead,
    OutboundMessage,
    ProcessInstance,
    TimerJob,
    WorkItem,
)
from engine.runtime import Runtime
from engine.views import CaseView
from tests.engine.helpers import sample_runtime

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
    assert [f.severity for f in findings] == ["ok"] * 5
    assert _codes(findings) == ["schema", "stuck_cases", "timers", "outbox", "audit_chain"]


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
    assert case.business_key in finding.message and "no incident" in finding.message
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
