"""``nrmflow doctor``: read-only health checks an operator runs after an upgrade or an alarm.

A case can live for years across many upgrades; what goes wrong between them
is quiet (a migration not run, a worker not started, a partner down, a failed
step waiting for a coordinator, a case nothing can move on). Each check here
reads the database, changes nothing (not even the audit log), and says what it
found in words an operator can act on, with the command that fixes it.
Messages name cases by reference and id only, never by anything in their data.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import exists, or_, select
from sqlalchemy.exc import SQLAlchemyError

from engine.audit_search import verify_chain
from engine.clock import Clock
from engine.db import Database, alembic_config
from engine.doctor_findings import Finding, Thresholds
from engine.doctor_progress import (
    check_erasure_due,
    check_open_incidents,
    check_outbox,
    check_overdue_timers,
    check_stuck_cases,
)
from engine.models import (
    AuditHead,
    ProcessInstance,
    ProcessModelVersion,
)
from engine.training_clock import refresh_if_training


def diagnose(db: Database, clock: Clock, thresholds: Thresholds) -> list[Finding]:
    """Every check in turn; the others only once the schema is the one this code expects.

    On an older schema the other checks' queries would fail on a missing
    column, and the fix is the same whatever they would say.
    """
    missing = _missing_sqlite_file(db)
    if missing:
        return [missing]
    try:
        schema = check_schema(db)
    except SQLAlchemyError as error:
        return [_unreachable(db, error)]
    if schema.needs_attention:
        return [schema]
    findings = [schema]
    try:
        refresh_if_training(clock)  # a training deployment's timers run on its moved clock
    except SQLAlchemyError as error:
        return [*findings, _check_failed("clock", error)]
    now = clock.now()
    checks: list[tuple[str, Callable[[], list[Finding]]]] = [
        ("stuck cases", lambda: check_stuck_cases(db)),
        ("open incidents", lambda: check_open_incidents(db, now)),
        ("timers", lambda: check_overdue_timers(db, now, thresholds.timer_grace)),
        ("outbox", lambda: check_outbox(db, now, thresholds)),
        ("erasure", lambda: check_erasure_due(db, now, thresholds.retention_days)),
        ("audit chain", lambda: check_audit_chain(db)),
    ]
    for name, check in checks:
        try:
            findings += check()
        except SQLAlchemyError as error:
            findings.append(_check_failed(name, error))
    return findings


def check_schema(db: Database) -> Finding:
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    with db.engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current == head:
        return Finding("schema", "ok", f"database schema is current (revision {head})")
    try:
        pending = [r.revision for r in scripts.iterate_revisions(head, current or "base")][::-1]
    except RevisionError:
        return Finding(
            "schema_unknown",
            "error",
            f"database schema is at revision {current}, which this nrmflow does not know "
            f"(its newest is {head}): a newer nrmflow upgraded it",
            "install the nrmflow version that upgraded this database (never downgrade its schema)",
        )
    where = f"at revision {current}" if current else "empty (no nrmflow schema)"
    return Finding(
        "schema_pending",
        "error",
        f"database schema is {where}, this nrmflow expects {head}: "
        f"{len(pending)} migration(s) pending ({', '.join(pending)}); "
        "the other checks run once it is current",
        "nrmflow db upgrade",
    )


def check_audit_chain(db: Database) -> list[Finding]:
    """The chain verifies, and a database holding cases or models has a chain at all.

    Verification alone passes a log wiped with its head: zero events, zero
    head. Deploying a model or starting a case always writes an event, so
    such records without a head mean the log was removed.
    """
    result = verify_chain(db)
    if not result.intact:
        return [
            Finding(
                "audit_chain_broken",
                "error",
                f"audit chain broken at event {result.first_bad_seq}: {result.reason}",
                "see the Integrity page (/audit/integrity) or nrmflow audit verify; "
                "compare with your last exported anchor and restore the log from a backup",
            )
        ]
    with db.reader() as session:
        has_head = session.scalar(select(exists().where(AuditHead.id.isnot(None))))
        has_records = session.scalar(
            select(
                or_(
                    exists().where(ProcessModelVersion.id.isnot(None)),
                    exists().where(ProcessInstance.id.isnot(None)),
                )
            )
        )
    if not has_head and has_records:
        return [
            Finding(
                "audit_head_missing",
                "error",
                "the audit log is empty and has no head, yet the database holds process "
                "models or cases: the log was removed",
                "restore the audit log from a backup and check it against your last "
                "exported anchor (nrmflow audit verify-export)",
            )
        ]
    return [
        Finding(
            "audit_chain",
            "ok",
            f"audit chain intact: {result.count} event(s), last hash {result.last_hash[:12]}",
        )
    ]


def _missing_sqlite_file(db: Database) -> Finding | None:
    """Connecting to a missing SQLite file would create an empty one: report it instead."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    if Path(url.database).exists():
        return None
    return Finding(
        "database_missing",
        "error",
        f"no database file at {url.database}",
        "check NRMFLOW_DATABASE_URL, or create the database with nrmflow db upgrade",
    )


def _unreachable(db: Database, error: SQLAlchemyError) -> Finding:
    return Finding(
        "database_unreachable",
        "error",
        f"cannot reach the database {db.engine.url.render_as_string(hide_password=True)}: "
        f"{_reason(error)}",
        "check NRMFLOW_DATABASE_URL and that the database server is running",
    )


def _check_failed(name: str, error: SQLAlchemyError) -> Finding:
    return Finding(
        "check_failed",
        "error",
        f"the {name} check could not run: {_reason(error)}",
        "check the database is reachable, then run nrmflow doctor again",
    )


def _reason(error: SQLAlchemyError) -> str:
    """The driver's first line: it names the host or file, never a password or a row."""
    original = getattr(error, "orig", None) or error
    return (str(original).strip().splitlines() or [type(original).__name__])[0][:200]
