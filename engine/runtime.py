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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine import audit, case_suspension, clock, messages, queries
from engine.case_reads import CaseReads
from engine.clock import Clock, FixedClock, SystemClock, as_utc
from engine.db import Database
from engine.derived import open_user_tasks, pending_timers, sync_derived_rows
from engine.errors import (
    AlreadyClaimed,
    CaseNotFound,
    MessageNotExpected,
    ModelNotFound,
    NotAuthorized,
    StaleRevision,
    TaskNotReady,
    WorkflowFailed,
)
from engine.forms import validate_form_data
from engine.hooks import Hooks
from engine.model_versions import FormSchemas, latest_version
from engine.models import ProcessInstance, ProcessModelVersion, TimerJob, WorkItem
from engine.partner_inbox import PartnerInbox
from engine.partners import NO_PARTNERS, PartnerDirectory
from engine.references import new_business_key
from engine.scripting import restricted_script_engine
from engine.specs import SpecCache
from engine.state import dump_state, load_state
from engine.users import find_user
from engine.validation import start_form_reference
from engine.views import CaseView, WorkItemView
from engine.work_item_commands import WorkItemCommands

log = logging.getLogger(__name__)
TIMER_ACTOR = "system:timer"


@dataclass
class _Step:
    """What one command collects before it is written."""

    events: list[audit.PendingEvent] = field(default_factory=list)
    engine_steps: list[dict[str, str]] = field(default_factory=list)
    thrown: list[BpmnEvent] = field(default_factory=list)

    def record_engine_step(self, task: Task) -> None:
        spec = task.task_spec
        if spec.bpmn_id:
            self.engine_steps.append({"task": spec.bpmn_id, "type": type(spec).__name__})


class Runtime(WorkItemCommands, CaseReads, PartnerInbox):
    """Every command that changes a case, plus the reads that load one (see the mixins)."""

    def __init__(
        self,
        db: Database,
        hooks: Hooks | None = None,
        clock_: Clock | None = None,
        script_time_limit: float = 2.0,
        partners: PartnerDirectory = NO_PARTNERS,
    ):
        self.db = db
        self.hooks = hooks or Hooks()
        self.clock = clock_ or SystemClock()
        self.partners = partners
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
        with self._transaction() as session:
            item = self._authorized_item(session, work_item_id, actor)
            if item.assignee not in (None, actor):
                raise AlreadyClaimed(f"work item {work_item_id} is claimed by someone else")
            instance = item.instance
            case_suspension.refuse_if_suspended(instance)
            schema = self.forms.get(session, instance.model_version_id, item.form)
            validate_form_data(schema, data)
            workflow = self._load(instance)
            task = _ready_task(workflow, item)
            changes = audit.field_changes(task.data, data)
            task.data.update(data)
            step = _Step()
            step.events.append(
                audit.PendingEvent(
                    actor,
                    "task_completed",
                    instance.id,
                    item.task_id,
                    instance.model_version_id,
                    {"task": item.task_name, "changes": changes},
                )
            )
            self._run(workflow, step, item.task_name, task.run)
            return self._save(session, instance, workflow, step, actor)

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

    def fire_due_timers(self, now: datetime | None = None, limit: int = 100) -> int:
        """Advance every case with a timer due before ``now``; return how many timers fired."""
        now = now or self.clock.now()
        with self.db.reader() as session:
            due = case_suspension.cases_with_timers_due(now, limit)
            instance_ids = list(session.scalars(due))
        fired = 0
        for instance_id in instance_ids:
            try:
                fired += self._fire_instance(instance_id, now)
            except WorkflowFailed as error:
                # Left due: the case keeps its last committed state until a fix is deployed.
                log.warning("timer of case %s failed: %s", instance_id, error)
            except StaleRevision:
                log.info(
                    "case %s changed while its timer fired; retried on the next pass", instance_id
                )
        return fired

    # ----------------------------------------------------------------- queries

    def work_items(self, role: str | None = None, actor: str | None = None) -> list[WorkItemView]:
        return queries.open_work_items(self.db, role, actor)

    def case(self, instance_id: int) -> CaseView:
        return queries.case_view(self.db, instance_id)

    # ----------------------------------------------------------------- internals

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self.db.transaction() as session, clock.using(self.clock):
            yield session

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
        step = _Step()
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
        step = _Step()
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
        step: _Step,
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
            raise WorkflowFailed(
                f"the process could not continue after '{where}' ({type(error).__name__}); "
                "nothing was saved"
            ) from error

    def _fire_instance(self, instance_id: int, now: datetime) -> int:
        with self.db.transaction() as session, clock.using(FixedClock(now)):
            query = select(TimerJob).where(
                TimerJob.instance_id == instance_id, TimerJob.due_at < now
            )
            if self.db.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            jobs = list(session.scalars(query))
            if not jobs:
                return 0  # another worker took them, or they are gone
            instance = case_suspension.running_case_for_timers(session, instance_id, self.db)
            if instance is None:
                return 0  # suspended since its due timers were read: they wait for the resume
            workflow = self._load(instance)
            step = _Step()
            self._run(workflow, step, "timer", workflow.refresh_timers)
            still_waiting = {str(t.task.id): t.due_at for t in pending_timers(workflow)}
            fired = [j for j in jobs if still_waiting.get(j.task_id) != as_utc(j.due_at)]
            if not fired:
                return 0
            for job in fired:
                step.events.insert(
                    0,
                    audit.PendingEvent(
                        TIMER_ACTOR,
                        "timer_fired",
                        instance.id,
                        job.task_id,
                        instance.model_version_id,
                        {
                            "timer": job.task_name,
                            "kind": job.kind,
                            "due_at": as_utc(job.due_at).isoformat(),
                        },
                    ),
                )
            self._save(session, instance, workflow, step, TIMER_ACTOR)
            return len(fired)

    def _save(
        self,
        session: Session,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        step: _Step,
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
        step: _Step,
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
        audit.append(session, step.events, now)
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
