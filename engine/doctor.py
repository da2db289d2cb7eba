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
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from engine.audit_search import verify_chain
from engine.clock import Clock, as_utc
from engine.db import Database, alembic_config
from engine.incidents import open_incident_count
from engine.models import (
    AuditHead,
    Incident,
    MessageSubscription,
    OutboundMessage,
    ProcessInstance,
    ProcessModelVersion,
    TimerJob,
    WorkItem,
)
from engine.retries import timer_fires_at
from engine.training_clock import refresh_if_training

Severity = Literal["error", "warning", "ok"]
# a stuck case is listed by name up to this many; the rest are counted in one more finding
MAX_LISTED_CASES = 20
OPEN_STATUSES = ("running", "waiting")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    fix: str | None = None

    @property
    def needs_attention(self) -> bool:
        return self.severity != "ok"

    def to_json(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass(frozen=True)
class Thresholds:
    """How late is too late: the worker passes every ``poll`` seconds, so allow two and a minute."""

    timer_grace: timedelta
    outbox_age: timedelta = timedelta(hours=1)
    outbox_attempts: int = 5

    @classmethod
    def for_worker(cls, poll_seconds: float) -> Thresholds:
        return cls(timer_grace=timedelta(seconds=2 * poll_seconds + 60))


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


def check_stuck_cases(db: Database) -> list[Finding]:
    """Open cases nothing can move on: no task, no timer, no awaited message, no open incident.

    Suspended cases wait on purpose and are left out; so is a case with an open
    incident: it waits for a coordinator, and the incidents check reports it.
    """
    query = (
        select(ProcessInstance.id, ProcessInstance.business_key, ProcessInstance.updated_at)
        .where(
            ProcessInstance.status.in_(OPEN_STATUSES),
            ProcessInstance.completed_at.is_(None),
            ProcessInstance.suspended_at.is_(None),
            ~exists().where(WorkItem.instance_id == ProcessInstance.id),
            ~exists().where(TimerJob.instance_id == ProcessInstance.id),
            ~exists().where(MessageSubscription.instance_id == ProcessInstance.id),
            ~exists().where(Incident.instance_id == ProcessInstance.id, Incident.status == "open"),
        )
        .order_by(ProcessInstance.id)
    )
    with db.reader() as session:
        stuck = list(session.execute(query))
    if not stuck:
        return [
            Finding(
                "stuck_cases",
                "ok",
                "no stuck cases (every running or waiting case has an open task, "
                "a timer, an awaited message or an open incident; suspended cases are left out)",
            )
        ]
    findings = [
        Finding(
            "stuck_case",
            "error",
            f"case {reference} (id {instance_id}) is open with no task, no timer and no "
            f"awaited message: nothing can move it on, and no open incident explains it",
            f"inspect /cases/{instance_id}/history for its last step, or "
            f"nrmflow audit export --since {as_utc(updated_at).date().isoformat()}",
        )
        for instance_id, reference, updated_at in stuck[:MAX_LISTED_CASES]
    ]
    if len(stuck) > MAX_LISTED_CASES:
        findings.append(
            Finding(
                "stuck_case",
                "error",
                f"{len(stuck) - MAX_LISTED_CASES} more stuck case(s) not listed",
                "fix the cases above, then run nrmflow doctor again",
            )
        )
    return findings


def check_open_incidents(db: Database, now: datetime) -> list[Finding]:
    """Failed steps waiting for a coordinator: the count, and the oldest by its first failure.

    A warning, not an error: nrmflow knows what failed and shows it to the
    coordinator; the operator's part is to see that someone acts on it.
    """
    with db.reader() as session:
        oldest = session.execute(
            select(Incident, ProcessInstance.business_key)
            .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
            .where(Incident.status == "open")
            .order_by(Incident.first_at, Incident.id)
            .limit(1)
        ).first()
    if oldest is None:
        return [Finding("incidents", "ok", "no open incidents (no failed step is waiting)")]
    incident, reference = oldest
    where = f" at '{incident.task_title}'" if incident.task_title else ""
    return [
        Finding(
            "incidents_open",
            "warning",
            f"{open_incident_count(db)} open incident(s) waiting for a coordinator to retry or "
            f"cancel; the oldest, incident {incident.id} ({incident.source}, "
            f"{incident.error_type}{where}) of case {reference}, first failed "
            f"{_moment(incident.first_at)} ({_duration(now - as_utc(incident.first_at))} ago, "
            f"{incident.occurrences} occurrence(s))",
            "nrmflow incidents list to see them; fix the cause, then nrmflow incidents retry ID "
            "(or cancel ID --reason ...), or use the coordinator's Incidents page",
        )
    ]


def check_overdue_timers(db: Database, now: datetime, grace: timedelta) -> list[Finding]:
    """Timers a running worker would have fired by now, counted from when it next fires them.

    A failed timer waits for its retry, so it is late only past ``retry_at``; a
    held one waits for a coordinator (its incident is reported), a suspended case's
    for its resumption.
    """
    fires_at = timer_fires_at()
    overdue = (
        select(fires_at, TimerJob.attempts, TimerJob.task_name, ProcessInstance.business_key)
        .join(ProcessInstance, ProcessInstance.id == TimerJob.instance_id)
        .where(
            TimerJob.on_hold.is_(False),
            fires_at < now - grace,
            ProcessInstance.suspended_at.is_(None),
        )
        .order_by(fires_at)
    )
    with db.reader() as session:
        count = session.scalar(select(func.count()).select_from(overdue.subquery())) or 0
        oldest = session.execute(overdue.limit(1)).first()
    late = _duration(grace)
    if oldest is None:
        return [Finding("timers", "ok", f"no timer is overdue by more than {late}")]
    fires, attempts, task_name, reference = oldest
    due = f"due for its retry after {attempts} failed attempt(s)" if attempts else "due"
    return [
        Finding(
            "timers_overdue",
            "error",
            f"{count} timer(s) overdue by more than {late}; the oldest, '{task_name}' of "
            f"case {reference}, was {due} {_moment(fires)} ({_duration(now - as_utc(fires))} ago)",
            "is `nrmflow worker` running? start it and its next pass fires them; "
            "if it runs, its log says why they do not fire",
        )
    ]


def check_outbox(db: Database, now: datetime, thresholds: Thresholds) -> list[Finding]:
    """Partner messages undelivered for long or after many attempts: a partner is down or
    refuses them (a wrong key, a message it does not take)."""
    late = (
        select(OutboundMessage, ProcessInstance.business_key)
        .join(ProcessInstance, ProcessInstance.id == OutboundMessage.instance_id)
        .where(
            OutboundMessage.delivered_at.is_(None),
            or_(
                OutboundMessage.created_at < now - thresholds.outbox_age,
                OutboundMessage.attempts >= thresholds.outbox_attempts,
            ),
        )
        .order_by(OutboundMessage.created_at, OutboundMessage.id)
    )
    with db.reader() as session:
        count = session.scalar(select(func.count()).select_from(late.subquery())) or 0
        oldest = session.execute(late.limit(1)).first()
    if oldest is None:
        return [
            Finding(
                "outbox",
                "ok",
                f"no partner message undelivered for over {_duration(thresholds.outbox_age)} "
                f"or after {thresholds.outbox_attempts} attempts",
            )
        ]
    message, reference = oldest
    partner = f"to {message.partner}" if message.partner else "with no partner (passed by hand)"
    error = f", last error: {message.last_error}" if message.last_error else ""
    return [
        Finding(
            "outbox_undelivered",
            "warning",
            f"{count} partner message(s) undelivered for over "
            f"{_duration(thresholds.outbox_age)} or after {thresholds.outbox_attempts} attempts; "
            f"the oldest, '{message.message_name}' of case {reference} {partner}, was written "
            f"{_moment(message.created_at)} ({message.attempts} attempt(s){error})",
            "nrmflow partners outbox (why), then nrmflow partners retry once the partner is back",
        )
    ]


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


def _moment(moment: datetime) -> str:
    return as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def _duration(delta: timedelta) -> str:
    """Coarse and readable: an operator wants "3 d", not a second count."""
    seconds = int(delta.total_seconds())
    # (unit, its length, the least amount shown in it): "70 s", "15 min", "1 h", "3 d"
    for unit, size, least in (("d", 86400, 2), ("h", 3600, 1), ("min", 60, 10)):
        if seconds >= size * least:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
