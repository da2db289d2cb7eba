"""Rows derived from a workflow after every step: work items, timer jobs, message subscriptions.

The inbox, the timer worker and message delivery read only these tables, so
they never deserialize a workflow to find their case. Rows are reconciled,
not rebuilt, so a claim and the item's creation time survive steps that
leave the task open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.models import MessageSubscription, ProcessInstance, TimerJob, WorkItem
from engine.validation import form_reference

_TIMER_KINDS: dict[type[TimerEventDefinition], str] = {
    DurationTimerEventDefinition: "duration",
    TimeDateEventDefinition: "date",
    CycleTimerEventDefinition: "cycle",
}


_RowT = TypeVar("_RowT", WorkItem, TimerJob, MessageSubscription)


@dataclass(frozen=True)
class PendingTimer:
    task: Task
    kind: str
    due_at: datetime


def pending_timers(workflow: BpmnWorkflow) -> Iterator[PendingTimer]:
    for task in list(workflow.event_manager.tasks.values()):
        definition = task.task_spec.event_definition
        kind = _TIMER_KINDS.get(type(definition))
        if kind is None or not task.has_state(TaskState.WAITING):
            continue
        due = _timer_due(task.internal_data.get("event_value"))
        if due is not None:
            yield PendingTimer(task, kind, due)


def _timer_due(event_value: object) -> datetime | None:
    if isinstance(event_value, dict):  # cycle: {'cycles', 'next', 'duration'}
        if event_value.get("cycles") == 0:
            return None
        event_value = event_value.get("next")
    if not isinstance(event_value, str):
        return None
    try:
        return as_utc(TimerEventDefinition.get_datetime(event_value))
    except ValueError:
        return None


def waiting_message_catches(workflow: BpmnWorkflow) -> list[Task]:
    return [
        task
        for task in workflow.event_manager.tasks.values()
        if isinstance(task.task_spec.event_definition, MessageEventDefinition)
        and task.has_state(TaskState.WAITING)
    ]


def open_user_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return workflow.get_tasks(state=TaskState.READY | TaskState.WAITING, manual=True)


def _deadline_of(task: Task, timers: dict[object, datetime]) -> datetime | None:
    """A user task's due time is its earliest date or duration boundary timer.

    A cycle timer on a long-running task is a reminder (a permit renewal, a
    periodic review), not a deadline for the task itself.
    """
    parent = task.parent
    if parent is None:
        return None
    dues = [timers[sibling.id] for sibling in parent.children if sibling.id in timers]
    return min(dues) if dues else None


def sync_derived_rows(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    role_for_lane: Callable[[str | None], str | None],
    now: datetime,
) -> None:
    timers = list(pending_timers(workflow))
    _sync_timer_jobs(session, instance, timers)
    deadlines = {t.task.id: t.due_at for t in timers if t.kind != "cycle"}
    _sync_work_items(session, instance, workflow, deadlines, role_for_lane, now)
    _sync_message_subscriptions(session, instance, workflow)


def _rows_by_task(
    session: Session, model: type[_RowT], instance: ProcessInstance, wanted: set[str]
) -> dict[str, _RowT]:
    """The instance's existing rows by task id, after deleting those no longer wanted."""
    query = select(model).filter_by(instance_id=instance.id)
    rows = {row.task_id: row for row in session.scalars(query)}
    for task_id, row in list(rows.items()):
        if task_id not in wanted:
            session.delete(row)
            del rows[task_id]
    return rows


def _sync_message_subscriptions(
    session: Session, instance: ProcessInstance, workflow: BpmnWorkflow
) -> None:
    wanted = {str(t.id): t for t in waiting_message_catches(workflow)}
    existing = _rows_by_task(session, MessageSubscription, instance, set(wanted))
    for task_id, task in wanted.items():
        if task_id not in existing:
            spec = task.task_spec
            session.add(
                MessageSubscription(
                    instance_id=instance.id,
                    task_id=task_id,
                    task_name=spec.bpmn_id or spec.name,
                    message_name=spec.event_definition.name,
                )
            )


def _sync_timer_jobs(
    session: Session, instance: ProcessInstance, timers: list[PendingTimer]
) -> None:
    wanted = {str(t.task.id): t for t in timers}
    existing = _rows_by_task(session, TimerJob, instance, set(wanted))
    for task_id, timer in wanted.items():
        job = existing.get(task_id)
        if job is None:
            session.add(
                TimerJob(
                    instance_id=instance.id,
                    task_id=task_id,
                    task_name=timer.task.task_spec.bpmn_id or timer.task.task_spec.name,
                    kind=timer.kind,
                    due_at=timer.due_at,
                )
            )
        elif as_utc(job.due_at) != timer.due_at:
            # a new due time (a cycle's next round) starts with a clean slate of retries
            job.due_at, job.attempts, job.retry_at, job.on_hold = timer.due_at, 0, None, False


def _sync_work_items(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    deadlines: dict[object, datetime],
    role_for_lane: Callable[[str | None], str | None],
    now: datetime,
) -> None:
    tasks = {str(t.id): t for t in open_user_tasks(workflow)}
    existing = _rows_by_task(session, WorkItem, instance, set(tasks))
    for task_id, task in tasks.items():
        due = _deadline_of(task, deadlines)
        item = existing.get(task_id)
        if item is not None:
            # A fired non-interrupting deadline leaves the task open and overdue, not undated.
            item.due_at = due or item.due_at
            continue
        session.add(
            WorkItem(
                instance_id=instance.id,
                task_id=task_id,
                due_at=due,
                created_at=now,
                **work_item_fields(task, role_for_lane),
            )
        )


def work_item_fields(
    task: Task, role_for_lane: Callable[[str | None], str | None]
) -> dict[str, str | None]:
    """What a work item takes from its task's spec: also refreshed when a case changes version."""
    spec = task.task_spec
    return {
        "task_name": spec.bpmn_id or spec.name,
        "title": spec.bpmn_name or spec.bpmn_id or spec.name,
        "lane": spec.lane,
        "role": role_for_lane(spec.lane),
        "form": form_reference(spec),
        "stage": task.workflow.spec.name,
    }
