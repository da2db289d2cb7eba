"""Reads that load a workflow for a person: a task's form, a case's record.

A person looking at case data is itself an event ("every read of case data
by a person is audited"), so these reads run in a transaction that appends
to the audit log. What the person may see is the domain's decision
(``Hooks.visible_data``); the engine only applies it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import as_utc
from engine.errors import AccessRefused, CaseNotFound
from engine.models import AuditEvent, ProcessInstance, WorkItem
from engine.users import find_user
from engine.views import CaseView, WorkItemView

if TYPE_CHECKING:
    from engine.clock import Clock
    from engine.hooks import Hooks
    from engine.model_versions import FormSchemas

TIMELINE_ACTIONS = (
    "case_started",
    "task_completed",
    "timer_fired",
    "message_received",
    "message_sent",
    "work_item_claimed",
    "work_item_reassigned",
    "case_suspended",
    "case_resumed",
    "incident_raised",
    "incident_retried",
    "incident_cancelled",
    "case_migrated",
    "case_completed",
)


@dataclass(frozen=True)
class TaskForm:
    item: WorkItemView
    schema: dict[str, Any] | None
    instructions: str
    draft: dict[str, Any] | None


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    actor: str
    action: str
    task: str | None


@dataclass(frozen=True)
class CaseRecord:
    case: CaseView
    stages: list[str]
    data: dict[str, Any]
    withheld: int
    timeline: list[TimelineEntry]


class CaseReads:
    clock: Clock
    hooks: Hooks
    forms: FormSchemas

    def _transaction(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _load(self, instance: ProcessInstance) -> BpmnWorkflow:
        raise NotImplementedError

    def _authorized_item(self, session: Session, work_item_id: int, actor: str) -> WorkItem:
        raise NotImplementedError

    def task_form(self, work_item_id: int, actor: str, record_view: bool = True) -> TaskForm:
        """What a person needs to work an item: its form, instructions and their draft.

        Opening the task is audited; handling a submission of it
        (``record_view=False``) is not, since its outcome is audited instead.
        """
        with self._transaction() as session:
            item = self._authorized_item(session, work_item_id, actor)
            instance = item.instance
            schema = self.forms.get(session, instance.model_version_id, item.form)
            task = self._load(instance).get_task_from_id(UUID(item.task_id))
            spec = task.task_spec if task is not None else None
            instructions = _instructions(spec)
            draft = json.loads(item.draft) if item.draft and item.draft_by == actor else None
            if record_view:
                event = audit.PendingEvent(
                    actor,
                    "work_item_opened",
                    instance.id,
                    item.task_id,
                    instance.model_version_id,
                    {"task": item.task_name},
                )
                audit.append(session, [event], self.clock.now())
            return TaskForm(
                WorkItemView.of(item, instance.business_key), schema, instructions, draft
            )

    def case_record(self, instance_id: int, actor: str) -> CaseRecord:
        """A case as ``actor`` may see it: stage, timeline, open items, need-to-know data."""
        with self._transaction() as session:
            user = find_user(session, actor)
            instance = session.get(ProcessInstance, instance_id)
            if instance is None:
                raise CaseNotFound(f"no case {instance_id}")
            items = list(session.scalars(select(WorkItem).filter_by(instance_id=instance_id)))
            if not self.hooks.may_view_case(user.role_names, {i.role for i in items}):
                raise AccessRefused(
                    f"'{actor}' may not view case {instance.business_key}",
                    actor,
                    "case",
                    instance.id,
                )
            workflow = self._load(instance)
            stages = sorted({i.stage for i in items if i.stage}) or [instance.status]
            data = current_data(workflow)
            visible = self.hooks.visible_data(user.role_names, stages, data)
            event = audit.PendingEvent(
                actor,
                "case_viewed",
                instance.id,
                None,
                instance.model_version_id,
                {"fields": sorted(visible)},
            )
            audit.append(session, [event], self.clock.now())
            return CaseRecord(
                CaseView.of(instance, items),
                stages,
                visible,
                sum(1 for k, v in data.items() if k not in visible and v is not None),
                list(_timeline(session, instance_id)),
            )


def current_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The case's data now: the last step's, updated with every open task's branch."""
    data: dict[str, Any] = dict(workflow.last_task.data) if workflow.last_task else {}
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        data.update(task.data)
    return data


def _instructions(spec: Any) -> str:
    if spec is None:
        return ""
    extensions = getattr(spec, "extensions", None) or {}
    return str(extensions.get("instructionsForEndUser") or spec.documentation or "")


def _timeline(session: Session, instance_id: int) -> Iterator[TimelineEntry]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.instance_id == instance_id, AuditEvent.action.in_(TIMELINE_ACTIONS))
        .order_by(AuditEvent.seq)
    )
    for event in session.scalars(query):
        payload = json.loads(event.payload)
        task = payload.get("task") or payload.get("timer") or payload.get("message")
        yield TimelineEntry(as_utc(event.at), event.actor, event.action, task)
