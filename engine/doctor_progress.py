"""The doctor's checks that cases keep moving: stuck cases, incidents, late timers, the outbox.

Each reads the database only and names cases by reference and id, never by
anything in their data (see engine/doctor.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select

from engine.clock import as_utc
from engine.db import Database
from engine.doctor_findings import Finding, Thresholds, ago_text, duration_text, moment_text
from engine.incidents import open_incident_count
from engine.models import (
    Incident,
    MessageSubscription,
    OutboundMessage,
    ProcessInstance,
    TimerJob,
    WorkItem,
)
from engine.retention import due_for_erasure
from engine.retries import timer_fires_at

# a stuck case is listed by name up to this many; the rest are counted in one more finding
MAX_LISTED_CASES = 20
OPEN_STATUSES = ("running", "waiting")


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
            f"{moment_text(incident.first_at)} ({ago_text(now, incident.first_at)} ago, "
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
    late = duration_text(grace)
    if oldest is None:
        return [Finding("timers", "ok", f"no timer is overdue by more than {late}")]
    fires, attempts, task_name, reference = oldest
    due = f"due for its retry after {attempts} failed attempt(s)" if attempts else "due"
    return [
        Finding(
            "timers_overdue",
            "error",
            f"{count} timer(s) overdue by more than {late}; the oldest, '{task_name}' of "
            f"case {reference}, was {due} {moment_text(fires)} ({ago_text(now, fires)} ago)",
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
                f"no partner message undelivered for over {duration_text(thresholds.outbox_age)} "
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
            f"{duration_text(thresholds.outbox_age)} or after "
            f"{thresholds.outbox_attempts} attempts; "
            f"the oldest, '{message.message_name}' of case {reference} {partner}, was written "
            f"{moment_text(message.created_at)} ({message.attempts} attempt(s){error})",
            "nrmflow partners outbox (why), then nrmflow partners retry once the partner is back",
        )
    ]


def check_erasure_due(db: Database, now: datetime, retention_days: int) -> list[Finding]:
    """Closed cases kept past their retention date: personal data held without a legal basis."""
    due = due_for_erasure(db, now, retention_days)
    if not due:
        return [Finding("erasure", "ok", "no closed case is kept past its retention date")]
    return [
        Finding(
            "erasure_due",
            "warning",
            f"{len(due)} closed case(s) kept past their retention date, the first "
            f"{due[0][1]} (id {due[0][0]})",
            "nrmflow retention run (schedule it daily)",
        )
    ]
