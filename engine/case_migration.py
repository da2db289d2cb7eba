"""Move running cases to a new version of their model, so a fix reaches the cases under way.

A case can move when every task kept in its tree has an element in the new
version: open tasks and subprocesses, and its history too (a state naming an
element the version lacks no longer loads). SpiffWorkflow resets open tasks on
the new spec, which restarts their timers; one whose definition did not change
keeps its due time, so a move never quietly extends a deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.util.diff import WorkflowDiff, diff_workflow, migrate_workflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from engine import audit, derived
from engine.db import Database
from engine.errors import CaseNotFound, EngineError, ModelNotFound, NotAuthorized, StaleRevision
from engine.models import MessageSubscription, ProcessInstance, ProcessModelVersion, WorkItem
from engine.state import REGISTRY, dump_state, load_state
from engine.users import find_user

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)
MayMigrate = Callable[[set[str]], bool]
SubDiffs = dict[UUID, WorkflowDiff | None]
_RESET = TaskState.READY | TaskState.WAITING  # what migrate_workflow resets on the new spec
_OPEN = _RESET | TaskState.STARTED
_OPEN_STATUSES = ("running", "waiting")
_KINDS = {
    TaskState.READY: "the waiting task",
    TaskState.WAITING: "the waiting event",
    TaskState.STARTED: "the running subprocess",
}


@dataclass(frozen=True)
class MigrationCheck:
    """Whether a case can move, and if not why, in words that carry no case data."""

    case_id: int
    reference: str
    from_version: int
    to_version: int
    can_move: bool
    reasons: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # open elements the new version changes


@dataclass(frozen=True)
class MigrationResult:
    case_id: int
    reference: str
    migrated: bool
    reason: str = ""


@dataclass(frozen=True)
class _Target:
    id: int
    key: str
    version: int
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]


@dataclass(frozen=True)
class _Plan:
    check: MigrationCheck
    instance: ProcessInstance
    target: _Target
    workflow: BpmnWorkflow | None = None  # loaded and diffed unless the case is refused outright
    top: WorkflowDiff | None = None
    subs: SubDiffs = field(default_factory=dict)


def preview(runtime: Runtime, instance_ids: list[int], to_version_id: int) -> list[MigrationCheck]:
    """What :func:`migrate` would decide for each case; reads only."""
    target = _target(runtime, to_version_id)
    with runtime.db.reader() as session:
        return [_plan(runtime, _case(session, i, runtime.db), target).check for i in instance_ids]


def migrate(
    runtime: Runtime,
    instance_ids: list[int],
    to_version_id: int,
    actor: str,
    may_migrate: MayMigrate | None,
) -> list[MigrationResult]:
    """Move each case that can; ``may_migrate`` None means the operator (the CLI without --as)."""
    if may_migrate is not None:
        with runtime.db.reader() as session:
            if not may_migrate(find_user(session, actor).role_names):
                raise NotAuthorized(f"'{actor}' may not move cases to another model version")
    target = _target(runtime, to_version_id)
    return [_migrate_case(runtime, case_id, target, actor) for case_id in instance_ids]


def target_version_id(db: Database, number: int, key: str | None, case_id: int | None) -> int:
    """Version ``number`` of ``key``, or of the process case ``case_id`` runs when none is named."""
    with db.reader() as session:
        if key is None and case_id is not None:
            key = _case(session, case_id, db).model_version.key
        found = session.scalar(select(ProcessModelVersion.id).filter_by(key=key, version=number))
    if found is None:
        raise ModelNotFound(f"no version {number} of '{key}' is deployed")
    return found


def cases_behind(db: Database, key: str, number: int) -> list[int]:
    """The running cases of ``key`` on a version older than ``number``, oldest first."""
    query = select(ProcessInstance.id).join(ProcessInstance.model_version)
    query = query.where(ProcessModelVersion.key == key, ProcessModelVersion.version < number)
    query = query.where(ProcessInstance.status.in_(_OPEN_STATUSES)).order_by(ProcessInstance.id)
    with db.reader() as session:
        return list(session.scalars(query))


def _plan(runtime: Runtime, instance: ProcessInstance, target: _Target) -> _Plan:
    numbers = (instance.id, instance.business_key, instance.model_version.version, target.version)
    refusal = _case_refusal(instance, target)
    if refusal:
        return _Plan(MigrationCheck(*numbers, can_move=False, reasons=[refusal]), instance, target)
    workflow = runtime._load(instance)
    top, subs = diff_workflow(REGISTRY, workflow, target.spec, target.subprocess_specs)
    reasons = _reasons(workflow, top, subs, target.version)
    changed = {_element(t) for d in _diffs(top, subs) for t in d.changed if t.has_state(_OPEN)}
    check = MigrationCheck(*numbers, not reasons, reasons, sorted(changed))
    return _Plan(check, instance, target, workflow, top, subs)


def _case_refusal(instance: ProcessInstance, target: _Target) -> str:
    version = instance.model_version
    if instance.status not in _OPEN_STATUSES:
        return f"the case is {instance.status}; only running cases move"
    if version.key != target.key:
        return f"the case runs '{version.key}', not '{target.key}'"
    if version.id == target.id:
        return f"the case is already on version {target.version}"
    return ""


def _reasons(workflow: BpmnWorkflow, top: WorkflowDiff, subs: SubDiffs, version: int) -> list[str]:
    """Every task kept in the tree needs an element in the new version, or the case won't load."""
    gone = [workflow.subprocesses[i].spec for i, diff in subs.items() if diff is None]
    subjects = [f"the subprocess '{s.description or s.name}' ({s.name})" for s in gone]
    kept = [t for diff in _diffs(top, subs) for t in diff.removed if not _dropped_by_reset(t)]
    named: dict[str, str] = {}
    for task in sorted(kept, key=lambda t: not t.has_state(_OPEN)):  # an open task names it first
        named.setdefault(_element(task), _subject(task))
    return [f"{s} is not in version {version}" for s in dict.fromkeys([*subjects, *named.values()])]


def _subject(task: Task) -> str:
    element = _element(task)
    title = task.workflow.spec.task_specs.get(element, task.task_spec).bpmn_name or element
    if task.has_state(TaskState.FINISHED_MASK):
        return f"the task '{title}' ({element}) from the case's history"
    return f"{_KINDS.get(task.state, 'the planned step')} '{title}' ({element})"


def _element(task: Task) -> str:
    spec = task.task_spec  # the diagram element: "review.BoundaryEventSplit" is review's
    return str(spec.bpmn_id or spec.name.split(".")[0])


def _dropped_by_reset(task: Task) -> bool:
    """Tasks below an open task are dropped and predicted again from the new version."""
    parent = task.parent
    while parent is not None and not parent.has_state(_RESET):
        parent = parent.parent
    return parent is not None


def _diffs(top: WorkflowDiff, subs: SubDiffs) -> list[WorkflowDiff]:
    return [top, *(d for d in subs.values() if d is not None)]


def _migrate_case(runtime: Runtime, case_id: int, target: _Target, actor: str) -> MigrationResult:
    reference = ""
    try:
        with runtime._transaction() as session:
            instance = _case(session, case_id, runtime.db, lock=True)
            reference = instance.business_key
            plan = _plan(runtime, instance, target)
            if not plan.check.can_move:
                return MigrationResult(case_id, reference, False, "; ".join(plan.check.reasons))
            _move(runtime, session, plan, actor)
        return MigrationResult(case_id, reference, True)
    except EngineError as error:
        return MigrationResult(case_id, reference, False, str(error))
    except Exception as error:  # any failure rolls this case back; the next one still goes
        log.warning("moving case %s failed: %s", case_id, type(error).__name__)
        reason = f"the move failed ({type(error).__name__}); the case stays on its version"
        return MigrationResult(case_id, reference, False, reason)


def _move(runtime: Runtime, session: Session, plan: _Plan, actor: str) -> None:
    """Migrate, save with the revision check, re-derive the rows, audit: all or nothing."""
    assert plan.workflow is not None and plan.top is not None  # a plan that can move has both
    instance, target, before = plan.instance, plan.target, plan.instance.model_version
    removed = _migrate_workflow(plan)
    state = dump_state(plan.workflow)
    load_state(state, target.spec, target.subprocess_specs, runtime.script_engine)  # or refuse
    now = runtime.clock.now()
    saved = session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance.id, ProcessInstance.revision == instance.revision)
        .values(state=state, revision=instance.revision + 1, model_version_id=target.id)
        .values(updated_at=now)
    )
    if saved.rowcount != 1:
        raise StaleRevision(f"case {instance.business_key} was changed by someone else; try again")
    # subscriptions hold nothing but names: derived afresh, so delivery finds a renamed message
    session.execute(delete(MessageSubscription).filter_by(instance_id=instance.id))
    derived.sync_derived_rows(session, instance, plan.workflow, runtime.hooks.role_for_lane, now)
    _retitle_work_items(session, plan, runtime)
    payload = {"process": target.key, "removed_tasks": removed}
    payload.update(from_version_id=before.id, to_version_id=target.id)
    payload.update(from_version=before.version, to_version=target.version)
    event = audit.PendingEvent(actor, "case_migrated", instance.id, None, target.id, payload)
    audit.append(session, [event], now)


def _migrate_workflow(plan: _Plan) -> list[str]:
    """The top workflow and each subprocess on its new spec; the elements of dropped tasks."""
    workflow, target, subs = plan.workflow, plan.target, plan.subs
    kept = _timers_kept(workflow, _diffs(plan.top, subs))
    removed = migrate_workflow(plan.top, workflow, target.spec)
    for subprocess_id, subprocess in list(workflow.subprocesses.items()):
        new_spec = target.subprocess_specs[subprocess.spec.name]
        removed += migrate_workflow(subs[subprocess_id], subprocess, new_spec)
    workflow.subprocess_specs = target.subprocess_specs
    for task_id, internal_data in kept.items():
        timer = workflow.event_manager.tasks.get(task_id)  # a cycle's reset may drop one
        if timer is not None and timer.has_state(TaskState.WAITING):
            timer.internal_data = internal_data
    return sorted({t.task_spec.bpmn_id for t in removed if t.task_spec.bpmn_id})


def _timers_kept(workflow: BpmnWorkflow, diffs: Iterable[WorkflowDiff]) -> dict[UUID, Any]:
    """Waiting timers whose definition the new version keeps: their due times survive the reset."""
    alignment = {task: spec for diff in diffs for task, spec in diff.alignment.items()}
    kept = {}
    for timer in derived.pending_timers(workflow):
        old, new = timer.task.task_spec.event_definition, alignment.get(timer.task)
        if REGISTRY.convert(old) == REGISTRY.convert(getattr(new, "event_definition", None)):
            kept[timer.task.id] = dict(timer.task.internal_data)
    return kept


def _retitle_work_items(session: Session, plan: _Plan, runtime: Runtime) -> None:
    """sync_derived_rows keeps the item of a task still open as it was: here it takes the new
    title, lane, role and form; a claim goes with a changed role the claimant may not hold."""
    tasks = {str(t.id): t for t in derived.open_user_tasks(plan.workflow)}
    for item in session.scalars(select(WorkItem).filter_by(instance_id=plan.instance.id)):
        fields = derived.work_item_fields(tasks[item.task_id], runtime.hooks.role_for_lane)
        item.assignee = item.assignee if fields["role"] == item.role else None
        for name, value in fields.items():
            setattr(item, name, value)
        item.offered = plan.instance.suspended_at is None


def _target(runtime: Runtime, version_id: int) -> _Target:
    with runtime.db.reader() as session:
        version = session.get(ProcessModelVersion, version_id)
        if version is None:
            raise ModelNotFound(f"no model version {version_id}")
        spec, subprocess_specs = runtime.specs.get(version.id, lambda: version.spec)
        return _Target(version.id, version.key, version.version, spec, subprocess_specs)


def _case(session: Session, case_id: int, db: Database, lock: bool = False) -> ProcessInstance:
    """The case row, locked on PostgreSQL to be written (not the joined version: PostgreSQL
    refuses to lock the nullable side of an outer join)."""
    locking = {"of": ProcessInstance} if lock and db.is_postgresql else None
    instance = session.get(ProcessInstance, case_id, with_for_update=locking)
    if instance is None:
        raise CaseNotFound(f"no case {case_id}")
    return instance
