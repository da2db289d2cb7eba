"""What a coordinator does with an incident: retry the failed step, or cancel its branch.

Retry runs the step again as it was: a person's completion with the answers
kept on the work item (recorded as theirs, retried by the coordinator), the
case's held timers, or the held message sent once more. It succeeds after a
fix (a new version the case was moved to, a partner back online) and closes
the incident; a step that fails again counts one more occurrence and the
incident stays open. Cancel drops the failed branch from the case (the task
or timers are cancelled in the workflow and the engine goes on from there),
or gives up a held message, with a reason kept in the audit log. Each retry
and cancellation is audited with the incident's id, both in the transaction
that changes the case, so the log and the case never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import case_suspension, incidents, outbox
from engine.errors import NotAuthorized, WorkflowFailed
from engine.incidents import IncidentClosed, IncidentNotFound, IncidentView
from engine.models import Incident, OutboundMessage, ProcessInstance, TimerJob, WorkItem
from engine.step import Step
from engine.step_failures import StepFailed, StepFailure, describe
from engine.users import find_user

if TYPE_CHECKING:
    from engine.runtime import Runtime

MayHandle = Callable[[set[str]], bool]


@dataclass(frozen=True)
class RetryOutcome:
    """The incident after a retry: closed when the step went through, open when it failed again."""

    incident: IncidentView
    resolved: bool


def retry(
    runtime: Runtime,
    incident_id: int,
    actor: str,
    may_handle: MayHandle | None,
    send: outbox.Send = outbox.post_message,
) -> RetryOutcome:
    """Run the incident's failed step again; ``may_handle`` None means the operator (CLI)."""
    incident = _open_incident(runtime, incident_id, actor, may_handle)
    if incident.source == "delivery":
        resolved = _retry_delivery(runtime, incident, actor, send)
    elif incident.source == "timer":
        resolved = _retry_timers(runtime, incident, actor)
    else:
        resolved = _retry_completion(runtime, incident, actor)
    return RetryOutcome(incidents.get_incident(runtime.db, incident_id), resolved)


def cancel(
    runtime: Runtime, incident_id: int, reason: str, actor: str, may_handle: MayHandle | None
) -> IncidentView:
    """Cancel the failed branch (or give up the held message) and close the incident."""
    incident = _open_incident(runtime, incident_id, actor, may_handle)
    reason = case_suspension.checked_reason(reason, required=True)
    with runtime._transaction() as session:
        row = _locked_open(session, incident.id)
        now = runtime.clock.now()
        noted = {"reason": reason}
        if row.source == "delivery":
            incidents.audit_incident(session, row, actor, "incident_cancelled", now, **noted)
        else:
            _cancel_branch(runtime, session, row, actor, noted)
        incidents.close(session, row, "cancelled", actor, now)
    return incidents.get_incident(runtime.db, incident_id)


# ----------------------------------------------------------------- retries by source


def _retry_completion(runtime: Runtime, incident: IncidentView, actor: str) -> bool:
    """Complete the work item again with the answers kept on it, as the person who gave them."""
    try:
        with runtime._transaction() as session:
            row = _locked_open(session, incident.id)
            item = session.scalars(select(WorkItem).where(WorkItem.task_id == row.task_id)).first()
            now = runtime.clock.now()
            if item is not None:
                data = json.loads(item.draft) if item.draft else {}
                author = item.draft_by or row.submitted_by or actor
                noted = {"retried_by": actor, "incident": row.id}
                runtime._complete_item(session, item, data, author, noted)
            _resolve(session, row, actor, now, done=item is not None)
            return True
    except StepFailed as failed:
        _failed_again(runtime, incident, actor, failed)
        return False


def _retry_timers(runtime: Runtime, incident: IncidentView, actor: str) -> bool:
    """Fire the case's held timers now; the incident closes in the same transaction."""
    if case_suspension.suspended_since(runtime.db, incident.case_id) is not None:
        raise case_suspension.CaseSuspended(
            f"case {incident.reference} is suspended; resume it before retrying its timers"
        )
    now = runtime.clock.now()

    def close(session: Session) -> None:
        _release_holds(session, incident.case_id)
        _resolve(session, _locked_open(session, incident.id), actor, now, done=True)

    try:
        fired = runtime._fire_instance(incident.case_id, now, held=True, on_fired=close)
    except WorkflowFailed as failed:
        _failed_again(runtime, incident, actor, failed)
        return False
    if fired == 0:  # nothing held is due any more (e.g. the case moved on): nothing to retry
        with runtime._transaction() as session:
            close(session)
    return True


def _retry_delivery(
    runtime: Runtime, incident: IncidentView, actor: str, send: outbox.Send
) -> bool:
    """Send the held message once more, now; a partner back online takes it."""
    with runtime.db.reader() as session:
        row = session.get(Incident, incident.id)
        message = session.get(OutboundMessage, row.outbound_message_id) if row else None
    reason = None
    if message is not None and message.delivered_at is None:
        reason = outbox.send_once(runtime.partners, message, send)
    now = runtime.clock.now()
    if reason is None:
        if message is not None and message.delivered_at is None:
            outbox.record_delivery(runtime.db, message, now)
        with runtime._transaction() as session:
            _release_message(session, message)
            _resolve(session, _locked_open(session, incident.id), actor, now, done=True)
        return True
    with runtime._transaction() as session:
        assert message is not None
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message.id)
            .values(attempts=OutboundMessage.attempts + 1, last_error=reason)
        )
        instance = session.get(ProcessInstance, incident.case_id)
        assert instance is not None
        failure = outbox.undelivered(message, reason, message.attempts + 1)
        _record_again(session, instance, incident, actor, failure, now)
    return False


# ----------------------------------------------------------------- internals


def _open_incident(
    runtime: Runtime, incident_id: int, actor: str, may_handle: MayHandle | None
) -> IncidentView:
    if may_handle is not None:
        with runtime.db.reader() as session:
            if not may_handle(find_user(session, actor).role_names):
                raise NotAuthorized(f"'{actor}' may not retry or cancel incidents")
    incident = incidents.get_incident(runtime.db, incident_id)
    if not incident.is_open:
        raise IncidentClosed(f"incident {incident_id} is already {incident.status}")
    return incident


def _locked_open(session: Session, incident_id: int) -> Incident:
    """The incident row, locked, still open: two coordinators cannot both act on it."""
    row = session.get(Incident, incident_id, with_for_update=True)
    if row is None:
        raise IncidentNotFound(f"no incident {incident_id}")
    if row.status != "open":
        raise IncidentClosed(f"incident {incident_id} is already {row.status}")
    return row


def _resolve(session: Session, row: Incident, actor: str, now: datetime, done: bool) -> None:
    outcome = "resolved" if done else "nothing left to retry"
    incidents.audit_incident(session, row, actor, "incident_retried", now, outcome=outcome)
    incidents.close(session, row, "resolved", actor, now)


def _failed_again(
    runtime: Runtime, incident: IncidentView, actor: str, failed: WorkflowFailed
) -> None:
    """The retry failed and was rolled back: one more occurrence, the incident stays open."""
    failure = failed.failure if isinstance(failed, StepFailed) else describe(failed)
    with runtime._transaction() as session:
        instance = session.get(ProcessInstance, incident.case_id)
        assert instance is not None  # incidents go with their case
        _record_again(session, instance, incident, actor, failure, runtime.clock.now())


def _record_again(
    session: Session,
    instance: ProcessInstance,
    incident: IncidentView,
    actor: str,
    failure: StepFailure,
    now: datetime,
) -> None:
    row = session.get(Incident, incident.id)
    assert row is not None
    incidents.audit_incident(session, row, actor, "incident_retried", now, outcome="failed again")
    incidents.record(
        session,
        instance,
        incident.source,
        failure,
        now,
        task_id=row.task_id,
        task_title=row.task_title,
        outbound_message_id=row.outbound_message_id,
    )


def _cancel_branch(
    runtime: Runtime, session: Session, row: Incident, actor: str, noted: dict[str, str]
) -> None:
    """Cancel the failed task (or the held timers) in the workflow, go on from there, and save.

    When the branch was all the case had left, the case ends: the audit says so.
    """
    instance = session.get(ProcessInstance, row.instance_id)
    assert instance is not None
    case_suspension.refuse_if_suspended(instance)
    workflow = runtime._load(instance)
    task_ids = [row.task_id] if row.source == "task" else _held_timer_tasks(session, row)
    tasks = [workflow.get_task_from_id(UUID(t)) for t in task_ids if t]
    now = runtime.clock.now()
    step = Step()

    def drop() -> None:
        for task in tasks:
            if task is not None and not task.has_state(TaskState.FINISHED_MASK):
                task.cancel()

    runtime._run(workflow, step, "cancel", drop)
    ended = workflow.is_completed()
    incidents.audit_incident(
        session, row, actor, "incident_cancelled", now, **noted, case_ended=ended
    )
    runtime._save(session, instance, workflow, step, actor)


def _held_timer_tasks(session: Session, row: Incident) -> list[str]:
    query = select(TimerJob.task_id).where(
        TimerJob.instance_id == row.instance_id, TimerJob.on_hold.is_(True)
    )
    return list(session.scalars(query))


def _release_holds(session: Session, instance_id: int) -> None:
    session.execute(
        update(TimerJob)
        .where(TimerJob.instance_id == instance_id)
        .values(on_hold=False, attempts=0, retry_at=None)
    )


def _release_message(session: Session, message: OutboundMessage | None) -> None:
    if message is not None:
        session.execute(
            update(OutboundMessage).where(OutboundMessage.id == message.id).values(on_hold=False)
        )
