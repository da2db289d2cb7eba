"""How long people's tasks take, from the moment a work item appears to its completion.

Why it is derived from the audit log: a ``work_item`` row exists only while
its task is open (the row is deleted when the task completes), and
SpiffWorkflow's own task timestamps are wall-clock time, not the deployment's
clock (a training deployment moves its clock; tests fix it). The audit log
has every step of every case in order, which is enough:

- a user task is *completed* at its ``task_completed`` event;
- it was *created* (its work item appeared) in the step that completed one of
  its *entry elements*: the sources of its incoming sequence flows in the
  diagram (a gateway, a start event, a catching event, a call activity or
  another user task), or the start events of its process when it has no
  incoming flow. Engine-run elements are listed in each step's
  ``engine_steps`` event, user tasks in their ``task_completed`` event;
- so the creation time is the time of the latest step, before the
  completion, in which an entry element completed. Steps are ordered by the
  audit sequence, not the clock, so equal times never confuse the order.

Limits, stated so a reader can judge the figures: ``engine_steps`` names an
element by its BPMN id only, so if an entry element's id also occurs in
another process of the same case and that element completes while the task
is open, the task looks younger than it is (the NRM library's entry ids
are unique per process path, and the latest completion wins, which is
correct for loops). A task cancelled by an interrupting event has no
completion and is not counted.

Percentiles use the nearest-rank method: the p-th percentile of n sorted
values is the value at rank ceil(p/100 * n) (so the median of 4 values is the
2nd, and no value is ever interpolated).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.bundle import Bundle
from engine.clock import as_utc
from engine.model_sources import BPMN_NS, ParsedVersions, bpmn_processes
from engine.models import AuditEvent, ProcessModelVersion

_STEP_ACTIONS = ("task_completed", "engine_steps")


@dataclass(frozen=True)
class TaskDuration:
    """One completed user task: which, in which stage (process key), and when."""

    instance_id: int
    task: str
    stage: str
    created_at: datetime
    completed_at: datetime
    completed_seq: int

    @property
    def duration(self) -> timedelta:
        return self.completed_at - self.created_at


@dataclass(frozen=True)
class Spread:
    count: int
    median: timedelta
    p90: timedelta


@dataclass(frozen=True)
class FlowGraph:
    """What a model version's diagrams say about its user tasks."""

    entries: dict[str, frozenset[str]]  # user task id → ids of its entry elements
    stage_of: dict[str, str]  # user task id → key of the process it belongs to
    tasks_of: dict[str, tuple[str, ...]]  # process key → its user task ids, in document order
    xml_of: dict[str, bytes]  # process key → the file that defines it, as a viewer draws it


def nearest_rank(values: Sequence[float], percent: float) -> float:
    """The nearest-rank percentile of ``values`` (sorted here); undefined for no values."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(durations: Iterable[timedelta]) -> Spread | None:
    seconds = [d.total_seconds() for d in durations]
    if not seconds:
        return None
    return Spread(
        len(seconds),
        timedelta(seconds=nearest_rank(seconds, 50)),
        timedelta(seconds=nearest_rank(seconds, 90)),
    )


def flow_graph_of_bundle(bundle: Bundle) -> FlowGraph:
    entries: dict[str, set[str]] = defaultdict(set)
    stage_of: dict[str, str] = {}
    tasks_of: dict[str, list[str]] = defaultdict(list)
    xml_of: dict[str, bytes] = {}
    for process, content in bpmn_processes(bundle):
        key = process.get("id") or ""
        xml_of.setdefault(key, content)
        for scope in (process, *process.iter(f"{{{BPMN_NS}}}subProcess")):
            _read_scope(scope, key, entries, stage_of, tasks_of)
    return FlowGraph(
        {task: frozenset(found) for task, found in entries.items()},
        stage_of,
        {key: tuple(tasks) for key, tasks in tasks_of.items()},
        xml_of,
    )


def _read_scope(
    scope: etree._Element,
    key: str,
    entries: dict[str, set[str]],
    stage_of: dict[str, str],
    tasks_of: dict[str, list[str]],
) -> None:
    """One process or embedded subprocess: only its direct children belong to it."""
    children = list(scope)
    sources: dict[str, set[str]] = defaultdict(set)
    starts = set()
    for child in children:
        local = child.tag.rpartition("}")[2] if isinstance(child.tag, str) else ""
        if local == "sequenceFlow":
            sources[child.get("targetRef", "")].add(child.get("sourceRef", ""))
        elif local == "startEvent":
            starts.add(child.get("id", ""))
    for child in children:
        if child.tag == f"{{{BPMN_NS}}}userTask" and child.get("id"):
            task = child.get("id")
            entries[task] |= sources.get(task) or starts
            stage_of.setdefault(task, key)
            if task not in tasks_of[key]:
                tasks_of[key].append(task)


graphs: ParsedVersions[FlowGraph] = ParsedVersions(flow_graph_of_bundle)


def completed_tasks(
    session: Session, instance_ids: Iterable[int] | None = None
) -> list[TaskDuration]:
    """Every completed user task with its creation and completion time (see the module doc)."""
    query = (
        select(
            AuditEvent.seq,
            AuditEvent.at,
            AuditEvent.instance_id,
            AuditEvent.action,
            AuditEvent.model_version_id,
            AuditEvent.payload,
        )
        .where(AuditEvent.action.in_(_STEP_ACTIONS), AuditEvent.instance_id.is_not(None))
        .order_by(AuditEvent.instance_id, AuditEvent.seq)
    )
    if instance_ids is not None:
        query = query.where(AuditEvent.instance_id.in_(list(instance_ids)))
    rows = session.execute(query.execution_options(yield_per=2000))
    found: list[TaskDuration] = []
    by_version: dict[int, FlowGraph] = {}
    current: int | None = None
    last_done: dict[str, tuple[int, datetime]] = {}
    for seq, at, instance_id, action, version_id, payload in rows:
        if instance_id != current:
            current, last_done = instance_id, {}
        at = as_utc(at)
        body = json.loads(payload)
        if action == "engine_steps":
            for step in body.get("steps", ()):
                last_done[step.get("task", "")] = (seq, at)
            continue
        task = body.get("task") or ""
        if version_id not in by_version:
            by_version[version_id] = graphs.get(session, ProcessModelVersion.id == version_id)
        duration = _duration(by_version[version_id], last_done, instance_id, task, seq, at)
        if duration is not None:
            found.append(duration)
        last_done[task] = (seq, at)
    return found


def _duration(
    graph: FlowGraph,
    last_done: dict[str, tuple[int, datetime]],
    instance_id: int,
    task: str,
    seq: int,
    at: datetime,
) -> TaskDuration | None:
    done = [last_done[e] for e in graph.entries.get(task, ()) if e in last_done]
    if not done:
        return None  # a task the diagram does not show, or a history cut short
    _created_seq, created_at = max(done)
    return TaskDuration(instance_id, task, graph.stage_of.get(task, ""), created_at, at, seq)


def spreads_by(durations: Iterable[TaskDuration], key: str) -> dict[str, Spread]:
    """Median and 90th percentile per ``task`` or per ``stage``."""
    groups: dict[str, list[timedelta]] = defaultdict(list)
    for item in durations:
        groups[getattr(item, key)].append(item.duration)
    return {name: s for name, values in groups.items() if (s := spread(values)) is not None}
