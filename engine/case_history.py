"""A case's whole story for the people who check the mechanism: every audit event, and
where the case stands on each of its diagrams.

Generic over any BPMN: the domain decides who reads histories
(``Hooks.may_read_history``) and which values of a form's field-level diff a
viewer sees (a :data:`ValuePolicy` the caller hands in). A value the viewer may
not see never leaves this module, and reading a history is itself an audit
event written in the same transaction as the read.

These are functions taking the :class:`~engine.runtime.Runtime` (its transaction
and its workflow loader) rather than another mixin on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, case_values, pruning
from engine.clock import as_utc
from engine.derived import pending_timers
from engine.errors import AccessRefused, CaseNotFound, ModelNotFound
from engine.model_sources import (
    ModelSources,
    ParsedVersions,
    ProcessSource,
    sources_of_bundle,
)
from engine.models import AuditEvent, ProcessInstance, ProcessModelVersion, User, WorkItem
from engine.users import find_user
from engine.views import CaseView

if TYPE_CHECKING:
    from engine.runtime import Runtime

HISTORY_VIEWED = "case_history_viewed"
MAX_EVENTS = 10_000

# Given the viewer's roles and the form schemas of the case's model version (path →
# schema), the domain answers for each (field, stage): None when this viewer may see
# the field's values, else why not (a short key the web layer words).
Masker = Callable[[str, str | None], str | None]
ValuePolicy = Callable[[set[str], Mapping[str, dict[str, Any]]], Masker]


@dataclass(frozen=True)
class FieldChange:
    """One field of a form submission; ``before``/``after`` are None when ``hidden``."""

    field: str
    hidden: str | None  # None: shown; else the policy's reason for hiding the values
    before: Any = None
    after: Any = None

    @property
    def shown(self) -> bool:
        return self.hidden is None


@dataclass(frozen=True)
class Place:
    """Where on the diagrams an event happened: an element of one process."""

    process: str
    element: str


@dataclass(frozen=True)
class HistoryEvent:
    seq: int
    at: datetime
    actor: str
    agency: str | None
    action: str
    task_id: str | None
    model_key: str | None
    model_version: int | None
    places: tuple[Place, ...]
    changes: tuple[FieldChange, ...]
    details: dict[str, Any]  # the payload without the diff: names, never values
    hash: str


@dataclass(frozen=True)
class CaseHistory:
    case: CaseView
    top_process: str
    events: list[HistoryEvent]
    revealed: list[str]  # the fields whose values this read showed


@dataclass(frozen=True)
class ProcessMarks:
    """One process of a case on its diagram (a process called twice: the union)."""

    completed: frozenset[str] = frozenset()
    active: frozenset[str] = frozenset()
    waiting_timers: frozenset[str] = frozenset()
    taken_flows: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CaseDiagram:
    process: str
    xml: str
    marks: ProcessMarks
    call_activities: dict[str, str]  # element id → the process it calls
    events_by_element: dict[str, list[int]]  # element id → sequence numbers


_sources: ParsedVersions[ModelSources] = ParsedVersions(sources_of_bundle)


# ----------------------------------------------------------------- where the case stands


def diagram_marks(
    workflow: BpmnWorkflow, processes: Mapping[str, ProcessSource]
) -> dict[str, ProcessMarks]:
    """Per process id: completed and active elements, waiting timers, flows taken.

    Completed elements and the flows taken come from :func:`pruning.reached`,
    which remembers them after the finished tasks left the tree: a flow counts
    as taken when an element was reached from the flow's source (the engine's
    own split and join tasks are stepped over). Active ones are in the live
    tree: a running call activity counts as active, so the path can be followed
    into it.
    """
    marks: dict[str, dict[str, set[str]]] = {}

    def add(process: str, kind: str, element: str) -> None:
        marks.setdefault(process, {}).setdefault(kind, set()).add(element)

    def took(process: str, source: str | None, element: str) -> None:
        known = processes.get(process)
        if source is not None and known is not None:
            for flow in known.flows.get((source, element), ()):
                add(process, "taken_flows", flow)

    for process, element, source, completed in pruning.reached(workflow):
        if completed:
            add(process, "completed", element)
        took(process, source, element)
    for task in workflow.get_tasks(state=pruning.REACHED_STATES & ~TaskState.COMPLETED):
        if task.task_spec.bpmn_id and _is_active(task):
            add(task.workflow.spec.name, "active", task.task_spec.bpmn_id)
    for timer in pending_timers(workflow):
        add(timer.task.workflow.spec.name, "waiting_timers", timer.task.task_spec.bpmn_id or "")
    return {
        process: ProcessMarks(**{kind: frozenset(ids) for kind, ids in kinds.items()})
        for process, kinds in marks.items()
    }


def _is_active(task: Task) -> bool:
    """A person's task waiting for them, or a call activity whose process is running."""
    if task.task_spec.manual:
        return task.state in (TaskState.READY, TaskState.WAITING)
    return isinstance(task.task_spec, SubWorkflowTask) and task.state == TaskState.STARTED


def _places(
    event: AuditEvent,
    payload: dict[str, Any],
    workflow: BpmnWorkflow,
    where: Mapping[str, set[str]],
) -> list[Place]:
    """The diagram elements an event concerns.

    Engine steps name their elements by id only, so ``where`` (from
    :func:`_processes_by_element`) says in which processes each was reached.
    """
    if event.task_id:
        try:
            task = workflow.get_task_from_id(UUID(event.task_id))
        except TaskNotFoundException:  # pruned from the tree since: name it as steps are
            task = None
        if task is not None and task.task_spec.bpmn_id:
            return [Place(task.workflow.spec.name, task.task_spec.bpmn_id)]
        named = payload.get("task") or payload.get("timer")
        if isinstance(named, str):
            return [Place(process, named) for process in sorted(where.get(named, ()))]
    steps = payload.get("steps")
    if event.action == "engine_steps" and isinstance(steps, list):
        return [
            Place(process, step["task"])
            for step in steps
            if isinstance(step, dict)
            for process in sorted(where.get(step.get("task"), ()))
        ]
    return []


def _processes_by_element(workflow: BpmnWorkflow) -> dict[str, set[str]]:
    """Which processes reached each element id: an id two processes share maps to both."""
    found: dict[str, set[str]] = {}
    for process, element, _source, _completed in pruning.reached(workflow):
        found.setdefault(element, set()).add(process)
    return found


# ----------------------------------------------------------------- the reads


def case_history(
    runtime: Runtime,
    instance_id: int,
    actor: str,
    policy: ValuePolicy,
    noted: Mapping[str, Any] | None = None,
) -> CaseHistory:
    """Every event of a case in order, diffs masked by ``policy``; the read is audited.

    ``noted`` is added to the audit event (e.g. the reason under which hidden
    fields were shown).
    """
    with runtime._transaction() as session:
        roles, instance = _readable_case(runtime, session, instance_id, actor)
        workflow = runtime._load(instance)
        sources = _sources.get(session, ProcessModelVersion.id == instance.model_version_id)
        masker = policy(roles, sources.forms)
        events = list(_history_events(session, instance, workflow, masker))
        revealed = sorted({c.field for e in events for c in e.changes if c.shown})
        payload = {"events": len(events), "fields": revealed, **(noted or {})}
        viewed = audit.PendingEvent(
            actor, HISTORY_VIEWED, instance.id, None, instance.model_version_id, payload
        )
        audit.append(session, [viewed], runtime.clock.now())
        items = list(session.scalars(select(WorkItem).filter_by(instance_id=instance.id)))
        return CaseHistory(CaseView.of(instance, items), workflow.spec.name, events, revealed)


def case_diagram(
    runtime: Runtime, instance_id: int, actor: str, process: str | None = None
) -> CaseDiagram:
    """One process of a case (the top one by default) with its marks: ids only, no case data.

    Not audited: it carries no case data, and the page that asks for it is.
    """
    with runtime._transaction() as session:
        _roles, instance = _readable_case(runtime, session, instance_id, actor)
        workflow = runtime._load(instance)
        sources = _sources.get(session, ProcessModelVersion.id == instance.model_version_id)
        process = process or workflow.spec.name
        source = sources.processes.get(process)
        if source is None:
            raise ModelNotFound(f"case {instance.business_key} has no process '{process}'")
        marks = diagram_marks(workflow, sources.processes).get(process, ProcessMarks())
        by_element: dict[str, list[int]] = {}
        where = _processes_by_element(workflow)
        for event in _events_of(session, instance.id):
            for place in _places(event, json.loads(event.payload), workflow, where):
                if place.process == process:
                    by_element.setdefault(place.element, []).append(event.seq)
        return CaseDiagram(
            process, source.xml.decode("utf-8"), marks, dict(source.call_activities), by_element
        )


def record_reason(runtime: Runtime, instance_id: int, actor: str, action: str, reason: str) -> int:
    """Audit a reader's documented reason (``action`` names what it unlocks); return its seq."""
    with runtime._transaction() as session:
        _roles, instance = _readable_case(runtime, session, instance_id, actor)
        event = audit.PendingEvent(
            actor, action, instance.id, None, instance.model_version_id, {"reason": reason}
        )
        (written,) = audit.append(session, [event], runtime.clock.now())
        return written.seq


def _readable_case(
    runtime: Runtime, session: Session, instance_id: int, actor: str
) -> tuple[set[str], ProcessInstance]:
    roles = find_user(session, actor).role_names
    instance = session.get(ProcessInstance, instance_id)
    if not runtime.hooks.may_read_history(roles):
        raise AccessRefused(
            f"'{actor}' may not read case histories",
            actor,
            "case_history",
            instance.id if instance is not None else None,
        )
    if instance is None:
        raise CaseNotFound(f"no case {instance_id}")
    return roles, instance


def _events_of(session: Session, instance_id: int) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.instance_id == instance_id)
        .order_by(AuditEvent.seq)
        .limit(MAX_EVENTS)
    )
    return list(session.scalars(query))


def _history_events(
    session: Session,
    instance: ProcessInstance,
    workflow: BpmnWorkflow,
    masker: Masker,
) -> Iterable[HistoryEvent]:
    rows = _events_of(session, instance.id)
    agencies = dict(
        session.execute(
            select(User.username, User.agency).where(User.username.in_({r.actor for r in rows}))
        ).all()
    )
    version_ids = {r.model_version_id for r in rows if r.model_version_id is not None}
    versions = {
        found.id: (found.key, found.version)
        for found in session.execute(
            select(
                ProcessModelVersion.id, ProcessModelVersion.key, ProcessModelVersion.version
            ).where(ProcessModelVersion.id.in_(version_ids))
        )
    }
    where = _processes_by_element(workflow)
    values = case_values.values_of(session, instance.id)
    for row in rows:
        payload = json.loads(row.payload)
        places = _places(row, payload, workflow, where)
        stage = places[0].process if places else None
        changes = payload.pop("changes", None)
        key, version = versions.get(row.model_version_id or 0, (None, None))
        yield HistoryEvent(
            seq=row.seq,
            at=as_utc(row.at),
            actor=row.actor,
            agency=agencies.get(row.actor),
            action=row.action,
            task_id=row.task_id,
            model_key=key,
            model_version=version,
            places=tuple(places),
            changes=tuple(_masked(changes, values.get(row.seq, {}), stage, masker)),
            details=payload,
            hash=row.hash,
        )


def _masked(
    changes: object,
    values: Mapping[str, case_values.RecordedValue],
    stage: str | None,
    masker: Masker,
) -> Iterable[FieldChange]:
    """The event names the changed fields; their values come from beside the chain."""
    if not isinstance(changes, dict):
        return
    for name in sorted(changes):
        hidden = masker(name, stage)
        found = values.get(name)
        if hidden is not None or found is None:
            yield FieldChange(name, hidden or "unreadable")
        elif found.erased:
            yield FieldChange(name, case_values.ERASED)
        else:
            yield FieldChange(name, None, found.before, found.after)
