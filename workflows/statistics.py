"""The NRM monitoring figures for the coordinator, read from the database only.

The NRM Handbook asks for continuous monitoring of where the mechanism
stalls. Every figure here is aggregated from rows the engine already keeps
(cases, open work items, the audit log); no workflow is loaded. What a
person told a first responder (sex, age group, nationality group, forms of
exploitation) is the last value recorded by a submitted form in the audit
log's ``task_completed`` events (the values kept beside them, engine/case_values.py,
which erasure leaves for these categories); a decision is the value a decision
form held when it was submitted (a resubmitted, unchanged value is carried
over from earlier in the case, since the audit records only changes).

All counts go through one :class:`CountSheet` so small cells are suppressed
consistently across figures (``workflows.small_cells``); medians, 90th
percentiles and percentages over fewer than 5 cases are not shown. Reading
the figures is audited in the same transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, case_values
from engine.clock import Clock, as_utc
from engine.db import Database
from engine.durations import completed_tasks, graphs
from engine.model_labels import model_labels
from engine.model_versions import latest_version
from engine.models import AuditEvent, ProcessInstance, ProcessModelVersion, WorkItem
from workflows.hooks import CASE_PROCESS
from workflows.statistics_durations import median_value, task_name
from workflows.statistics_figures import (
    DECISIONS,
    RG_TARGET_TIMER,
    RG_TASK,
    CaseFacts,
    Facts,
    figures,
)
from workflows.statistics_values import Figure, Value


@dataclass(frozen=True)
class Dashboard:
    at: datetime
    figures: tuple[Figure, ...]


def dashboard(
    db: Database, clock: Clock, actor: str, action: str = "statistics_viewed"
) -> Dashboard:
    """The coordinator's figures; the read is audited as ``action``."""
    now = clock.now()
    with db.transaction() as session:
        facts = _read_facts(session)
        version = latest_version(session, CASE_PROCESS)
        audit.append(
            session, [audit.PendingEvent(actor, action, payload={"view": "dashboard"})], now
        )
    # after the transaction: labels are read (and cached) through a connection of their own
    labels = model_labels(db, CASE_PROCESS, version.version) if version else None
    return Dashboard(now, figures(facts, labels, now))


@dataclass(frozen=True)
class DiagramHeat:
    """A process's latest diagram and the median duration of each of its user tasks."""

    key: str
    xml: str
    tasks: tuple[tuple[str, str, Value], ...]  # (element id, task name, median)


def diagram_heat(db: Database, clock: Clock, actor: str, key: str) -> DiagramHeat | None:
    """Median duration per user task of ``key``'s latest version (None: no such process).

    Durations come from every completed task of that name, whichever version
    the case ran on; the read is audited.
    """
    with db.transaction() as session:
        version = latest_version(session, key)
        if version is None:
            return None
        graph = graphs.get(session, ProcessModelVersion.id == version.id)
        tasks = graph.tasks_of.get(key, ())
        by_task: dict[str, list[timedelta]] = defaultdict(list)
        for item in completed_tasks(session):
            if item.task in tasks:
                by_task[item.task].append(item.duration)
        payload = {"view": "diagram", "process": key}
        event = audit.PendingEvent(actor, "statistics_viewed", payload=payload)
        audit.append(session, [event], clock.now())
        xml = graph.xml_of.get(key, b"").decode("utf-8")
    labels = model_labels(db, key, version.version)
    return DiagramHeat(
        key,
        xml,
        tuple(
            (task, task_name(labels, task), median_value(by_task.get(task, []))) for task in tasks
        ),
    )


# ---------------------------------------------------------------- reading


def _read_facts(session: Session) -> Facts:
    query = (
        select(ProcessInstance.id, ProcessInstance.started_at, ProcessInstance.status)
        .join(ProcessModelVersion, ProcessInstance.model_version_id == ProcessModelVersion.id)
        .where(ProcessModelVersion.key == CASE_PROCESS)
    )
    cases: dict[int, CaseFacts] = {}
    open_cases: dict[int, str] = {}
    for case_id, started_at, status in session.execute(query):
        cases[case_id] = CaseFacts(case_id, f"{as_utc(started_at):%Y-%m}", {})
        if status in ("running", "waiting"):
            open_cases[case_id] = status
    decisions, rg_late = _read_decisions(session, cases)
    return Facts(
        cases,
        decisions,
        rg_late,
        completed_tasks(session),
        list(session.scalars(select(WorkItem))),
        open_cases,
    )


def _read_decisions(
    session: Session, cases: dict[int, CaseFacts]
) -> tuple[list[tuple[str, str, Any]], list[bool]]:
    query = (
        select(AuditEvent.instance_id, AuditEvent.seq, AuditEvent.action, AuditEvent.payload)
        .where(AuditEvent.action.in_(("task_completed", "timer_fired")))
        .order_by(AuditEvent.instance_id, AuditEvent.seq)
    )
    submitted = case_values.submitted_values(session)
    decisions: list[tuple[str, str, Any]] = []
    rg_late: list[bool] = []
    target_missed: set[int] = set()
    for instance_id, seq, action, payload in session.execute(
        query.execution_options(yield_per=2000)
    ):
        case = cases.get(instance_id)
        if case is None:
            continue
        body = json.loads(payload)
        if action == "timer_fired":
            if body.get("timer") == RG_TARGET_TIMER:
                target_missed.add(instance_id)
            continue
        case.values.update(submitted.get(seq, {}))
        task = body.get("task")
        for decision_task, field, _title in DECISIONS:
            if task == decision_task and field in case.values:
                decisions.append((task, field, case.values[field]))
        if task == RG_TASK:
            rg_late.append(instance_id in target_missed)
    return decisions, rg_late
