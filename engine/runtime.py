"""The runtime service: every change to a case is one call here, one transaction.

Each command has the same shape: load → check → run → save with the expected
revision → reconcile work items and timer jobs → append audit events →
commit. A second writer working from the same revision fails with
:class:`StaleRevision` and nothing it did is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import (
    audit,
    case_suspension,
    case_values,
    clock,
    incidents,
    messages,
    queries,
    retention,
)
from engine.case_reads import CaseReads, current_data
from engine.clock import Clock, SystemClock
from engine.db import Database
from engine.derived import open_user_tasks, sync_derived_rows
from engine.errors import (
    AlreadyClaimed,
    CaseNotFound,
    MessageNotExpected,
    ModelNotFound,
    NotAuthorized,
    StaleRevision,
    TaskNotReady,
)
from engine.forms import validate_form_data
from engine.hooks import Hooks
from engine.incidents import IncidentRaised
from engine.model_versions import FormSchemas, latest_version
from engine.models import ProcessInstance, ProcessModelVersion, WorkItem
from engine.partner_inbox import PartnerInbox
from engine.partners import NO_PARTNERS, PartnerDirectory
from engine.references import new_business_key
from engine.refusals import audited_refusals
from engine.retries import RetryPolicy
from engine.scripting import restricted_script_engine
from engine.specs import SpecCache
from engine.state import dump_state, load_state
from engine.step import Step
from engine.step_failures import StepFailed, StepFailure, describe
from engine.timer_firing import TimerFiring
from engine.users import find_user
from engine.validation import start_form_reference
from engine.views import CaseView, WorkItemView
from engine.work_item_commands import WorkItemCommands

log = logging.getLogger(__name__)


class Runtime(WorkItemCommands, CaseReads, PartnerInbox, TimerFiring):
    """Every command that changes a case, plus the reads that load one (see the mixins)."""

    def __init__(
        self,
        db: Database,
        hooks: Hooks | None = None,
        clock_: Clock | None = None,
        script_time_limit: float = 2.0,
        partners: PartnerDirectory = NO_PARTNERS,
        timer_retry: RetryPolicy | None = None,
    ):
        self.db = db
        self.hooks = hooks or Hooks()
        self.clock = clock_ or SystemClock()
        self.partners = partners
        self.timer_retry = timer_retry or RetryPolicy()
        self.script_engine = restricted_script_engine(self.hooks.script_helpers, script_time_limit)
        self.specs = SpecCache()
        self.forms = FormSchemas()

    # ----------------------------------------------------------------- commands

    def start(self, key: str, data: dict[str, Any], actor: str) -> CaseView:
        """Start a case; ``data`` must satisfy the start event's form when it names one."""
        with self._transaction() as session:
            user = find_user(session, actor)
            if not self.hooks.may_start(key, user.role_names):
                raise NotAuthorized(f"'{actor}' may not start '{key}'")
            version = latest_version(session, key)
            if version is None:
                raise ModelNotFound(f"no process model '{key}' is deployed")
            spec, _subprocess_specs = self.specs.get(version.id, lambda: version.spec)
            schema = self.forms.get(session, version.id, start_form_reference(spec))
            validate_form_data(schema, data)

            def begin(workflow: BpmnWorkflow) -> None:
                for task in workflow.get_tasks(state=TaskState.READY):
                    task.data.update(data)

            return self._open_case(session, version, actor, begin, {"fields": sorted(data)})

    def complete(self, work_item_id: int, data: dict[str, Any], actor: str) -> CaseView:
        """Complete a work item; a failed step after it raises :class:`IncidentRaised`."""
        try:
            with self._transaction() as session:
                item = self._authorized_item(session, work_item_id, actor)
                if item.assignee not in (None, actor):
                    raise AlreadyClaimed(f"work item {work_item_id} is claimed by someone else")
                return self._complete_item(session, item, data, actor)
        except StepFailed as failed:
            raise self._completion_incident(work_item_id, data, actor, failed.failure) from None

    def deliver_message(
        self, correlation: str, message: str, payload: dict[str, Any], actor: str
    ) -> CaseView:
        """Deliver a named message to the case whose reference is ``correlation``."""
        validate_form_data(None, payload)
        with self._transaction() as session:
            user = find_user(session, actor)
            if not self.hooks.may_deliver(message, user.role_names):
                raise NotAuthorized(f"'{actor}' may not deliver '{message}'")
            instance = session.scalars(
                select(ProcessInstance).where(ProcessInstance.business_key == correlation)
            ).one_or_none()
            if instance is None:
                raise CaseNotFound(f"no case {correlation}")
            case_suspension.refuse_if_suspended(instance)
            if not messages.is_waiting_for(session, instance, message):
                raise MessageNotExpected(f"case {correlation} is not waiting for '{message}'")
            return self._catch(session, instance, message, payload, actor)

    # ----------------------------------------------------------------- queries

    def work_items(self, role: str | None = None, actor: str | None = None) -> list[WorkItemView]:
        return queries.open_work_items(self.db, role, actor)

    def case(self, instance_id: int) -> CaseView:
        return queries.case_view(self.db, instance_id)

    # ----------------------------------------------------------------- internals

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with (
            audited_refusals(self.db, self.clock),
            self.db.transaction() as session,
            clock.using(self.clock),
        ):
            yield session

    def _complete_item(
        self,
        session: Session,
        item: WorkItem,
        data: dict[str, Any],
        actor: str,
        noted: dict[str, Any] | None = None,
    ) -> CaseView:
        """Run the item's task with ``data`` and save: a person's completion, or its retry."""
        instance = item.instance
        case_suspension.refuse_if_suspended(instance)
        schema = self.forms.get(session, instance.model_version_id, item.form)
        validate_form_data(schema, data)
        workflow = self._load(instance)
        task = _ready_task(workflow, item)
        changes = audit.field_changes(task.data, data)
        task.data.update(data)
        step = Step()
        hashed = case_values.hashed_changes(case_values.key_of(instance), changes)
        step.events.append(
            audit.PendingEvent(
                actor,
                "task_completed",
                instance.id,
                item.task_id,
                instance.model_version_id,
                {"task": item.task_name, "changes": hashed, **(noted or {})},
                values=changes,
            )
        )
        self._run(workflow, step, item.task_name, task.run)
        return self._save(session, instance, workflow, step, actor)

    def _completion_incident(
        self, work_item_id: int, data: dict[str, Any], actor: str, failure: StepFailure
    ) -> IncidentRaised:
        """Written after the failed completion rolled back: the incident, and the answers kept."""
        with self._transaction() as session:
            item = session.get(WorkItem, work_item_id)
            assert item is not None  # the completion that failed had just found it open
            incident = incidents.record(
                session,
                item.instance,
                "task",
                failure,
                self.clock.now(),
                task_id=item.task_id,
                task_title=item.title,
                submitted_by=actor,
            )
            incidents.keep_draft(session, item.task_id, data, actor)
            return IncidentRaised(incident.id, failure.message)

    def _open_case(
        self,
        session: Session,
        version: ProcessModelVersion,
        actor: str,
        begin: Callable[[BpmnWorkflow], object],
        noted: dict[str, Any],
        partner: tuple[str, str] | None = None,
    ) -> CaseView:
        """A new case of ``version``: ``begin`` gives it its start data or its start message.

        ``partner`` (name, the partner's reference) marks a case a partner's message started.
        """
        now = self.clock.now()
        spec, subprocess_specs = self.specs.get(version.id, lambda: version.spec)
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=self.script_engine)
        step = Step()
        self._run(workflow, step, "start", lambda: begin(workflow))
        instance = ProcessInstance(
            model_version=version,
            business_key=new_business_key(now),
            status=_status(workflow),
            state=dump_state(workflow),
            revision=1,
            started_by=actor,
            started_at=now,
            updated_at=now,
            completed_at=now if workflow.is_completed() else None,
            partner=partner[0] if partner else None,
            partner_reference=partner[1] if partner else None,
            value_key=case_values.new_key(),
        )
        session.add(instance)
        session.flush()
        step.events.insert(
            0, audit.PendingEvent(actor, "case_started", instance.id, None, version.id, noted)
        )
        return self._finish(session, instance, workflow, step, actor, now)

    def _catch(
        self,
        session: Session,
        instance: ProcessInstance,
        message: str,
        payload: dict[str, Any],
        actor: str,
        noted: dict[str, Any] | None = None,
    ) -> CaseView:
        """Deliver a message the case is known to wait for; the audit keeps field names only."""
        workflow = self._load(instance)
        step = Step()
        step.events.append(
            audit.PendingEvent(
                actor,
                "message_received",
                instance.id,
                None,
                instance.model_version_id,
                {"message": message, "fields": sorted(payload), **(noted or {})},
            )
        )
        event = messages.inbound_event(message, payload)
        self._run(workflow, step, message, lambda: workflow.catch(event))
        return self._save(session, instance, workflow, step, actor)

    def _load(self, instance: ProcessInstance) -> BpmnWorkflow:
        version = instance.model_version
        spec, subprocess_specs = self.specs.get(version.id, lambda: version.spec)
        return load_state(instance.state, spec, subprocess_specs, self.script_engine)

    def _run(
        self,
        workflow: BpmnWorkflow,
        step: Step,
        where: str,
        action: Callable[[], object] | None = None,
    ) -> None:
        """Do ``action`` (run a task, catch a message, refresh timers), then the engine steps.

        Any failure is a domain error and the caller's transaction rolls back.
        """
        try:
            if action is not None:
                action()
            workflow.do_engine_steps(did_complete_task=step.record_engine_step)
            step.thrown.extend(workflow.get_events())
        except Exception as error:  # any failure of a model step rolls the whole step back
            log.warning("step after '%s' failed: %s", where, type(error).__name__)
            raise StepFailed(
                f"the process could not continue after '{where}' ({type(error).__name__}); "
                "nothing was saved",
                describe(error),
            ) from error

    def _save(
        self,
        session: Session,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        step: Step,
        actor: str,
    ) -> CaseView:
        now = self.clock.now()
        completed = workflow.is_completed()
        saved = session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance.id, ProcessInstance.revision == instance.revision)
            .values(
                state=dump_state(workflow),
                revision=instance.revision + 1,
                status=_status(workflow),
                updated_at=now,
                completed_at=now if completed else None,
            )
        )
        if saved.rowcount != 1:
            raise StaleRevision(
                f"case {instance.business_key} was changed by someone else; try again"
            )
        session.refresh(instance)
        return self._finish(session, instance, workflow, step, actor, now)

    def _finish(
        self,
        session: Session,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        step: Step,
        actor: str,
        now: datetime,
    ) -> CaseView:
        sync_derived_rows(session, instance, workflow, self.hooks.role_for_lane, now)
        step.events.extend(
            messages.record_outbound(session, instance, step.thrown, actor, now, self.partners)
        )
        if step.engine_steps:
            step.events.append(
                audit.PendingEvent(
                    actor,
                    "engine_steps",
                    instance.id,
                    None,
                    instance.model_version_id,
                    {"steps": step.engine_steps},
                )
            )
        if workflow.is_completed():
            step.events.append(
                audit.PendingEvent(
                    actor, "case_completed", instance.id, None, instance.model_version_id
                )
            )
        written = audit.append(session, step.events, now)
        case_values.journal(session, step.events, written)
        if workflow.is_completed():
            retention.on_close(session, instance, current_data(workflow), self.hooks, actor, now)
        items = list(session.scalars(select(WorkItem).filter_by(instance_id=instance.id)))
        return CaseView.of(instance, items)


def _ready_task(workflow: BpmnWorkflow, item: WorkItem) -> Task:
    task = workflow.get_task_from_id(UUID(item.task_id))
    if task is None or task.state != TaskState.READY:
        raise TaskNotReady(f"task '{item.title}' is no longer open")
    return task


def _status(workflow: BpmnWorkflow) -> str:
    if workflow.is_completed():
        return "completed"
    return "running" if open_user_tasks(workflow) else "waiting"
