"""Drives NRM cases through the real runtime as the demo users would.

A scenario test says what a person does ("the competent authority decides
positive reasonable grounds") and the driver finds the open work item,
checks which role it went to, acts as that role's demo user and records the
path, the roles and every timer that fired, read back from the audit log.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine.bundle import read_bundle
from engine.clock import FixedClock, as_utc
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.models import (
    AuditEvent,
    CaseValue,
    MessageSubscription,
    OutboundMessage,
    ProcessInstance,
    TimerJob,
)
from engine.runtime import Runtime
from engine.views import CaseView, WorkItemView
from workflows.demo import demo_user_for, seed_demo_users
from workflows.hooks import build_hooks
from workflows.time_limits import TimeLimits

NRM_BUNDLE = Path(__file__).parents[2] / "bpmn" / "nrm"

START = {
    "first_responder_type": "labour_inspector",
    "first_contact_date": "2026-03-02",
    "contact_setting": "inspection_or_operation",
}


def nrm_runtime(
    db: Database, clock: FixedClock, country: str = "GB", limits: TimeLimits | None = None
) -> Runtime:
    """A runtime with the NRM hooks, the library deployed and the demo users seeded."""
    settings = load_settings({"NRMFLOW_HOLIDAY_COUNTRY": country})
    hooks = build_hooks(settings, limits or TimeLimits())
    deploy_bundle(db, read_bundle(NRM_BUNDLE, 5_000_000), "tester", hooks, clock)
    seed_demo_users(db, clock)
    return Runtime(db, hooks, clock, script_time_limit=2.0)


class MovesTheClock:
    """What a scenario does to time: move the clock, then fire what fell due."""

    clock: FixedClock

    def fire_due(self) -> list[str]:
        raise NotImplementedError

    def advance(self, **delta: float) -> list[str]:
        """Move the clock on and run the worker once; return the timers that fired."""
        self.clock.advance(**delta)
        return self.fire_due()

    def advance_to(self, moment: datetime) -> list[str]:
        self.clock.set(moment)
        return self.fire_due()


@dataclass
class NrmCase(MovesTheClock):
    runtime: Runtime
    db: Database
    clock: FixedClock
    view: CaseView
    roles: dict[str, str] = field(default_factory=dict)

    @classmethod
    def refer(
        cls,
        runtime: Runtime,
        db: Database,
        clock: FixedClock,
        start: dict[str, Any] | None = None,
        as_user: str = "demo.labour",
    ) -> NrmCase:
        view = runtime.start("nrm_case", START if start is None else start, as_user)
        return cls(runtime, db, clock, view)

    # ------------------------------------------------------------ acting

    def open_tasks(self) -> dict[str, WorkItemView]:
        return {item.task_name: item for item in self.runtime.case(self.view.id).work_items}

    def item(self, task_name: str) -> WorkItemView:
        tasks = self.open_tasks()
        assert task_name in tasks, f"{task_name} is not open; open: {sorted(tasks)}"
        return tasks[task_name]

    def complete(self, task_name: str, data: dict[str, Any], role: str) -> CaseView:
        """Complete an open task as the demo user of ``role``, which must be the task's role."""
        item = self.item(task_name)
        assert item.role == role, f"{task_name} went to {item.role}, expected {role}"
        self.roles[task_name] = item.role
        self.view = self.runtime.complete(item.id, data, demo_user_for(role))
        return self.view

    def deliver(self, message: str, payload: dict[str, Any], as_user: str) -> CaseView:
        self.view = self.runtime.deliver_message(self.view.business_key, message, payload, as_user)
        return self.view

    def fire_due(self) -> list[str]:
        before = len(self.timers_fired())
        self.runtime.fire_due_timers()
        self.view = self.runtime.case(self.view.id)
        return [name for name, _at in self.timers_fired()[before:]]

    # ------------------------------------------------------------ reading

    @property
    def status(self) -> str:
        return self.runtime.case(self.view.id).status

    def _events(self, action: str) -> list[AuditEvent]:
        with self.db.reader() as session:
            query = (
                select(AuditEvent)
                .where(AuditEvent.instance_id == self.view.id, AuditEvent.action == action)
                .order_by(AuditEvent.seq)
            )
            return list(session.scalars(query))

    def path(self) -> list[str]:
        """Every task the case passed through, in order: people's tasks and the engine's."""
        steps: list[str] = []
        with self.db.reader() as session:
            query = (
                select(AuditEvent)
                .where(AuditEvent.instance_id == self.view.id)
                .where(AuditEvent.action.in_(["task_completed", "engine_steps"]))
                .order_by(AuditEvent.seq)
            )
            for event in session.scalars(query):
                payload = json.loads(event.payload)
                if event.action == "task_completed":
                    steps.append(payload["task"])
                else:
                    steps.extend(step["task"] for step in payload["steps"])
        return steps

    def timers_fired(self) -> list[tuple[str, datetime]]:
        return [(json.loads(e.payload)["timer"], as_utc(e.at)) for e in self._events("timer_fired")]

    def waiting_timers(self) -> dict[str, datetime]:
        with self.db.reader() as session:
            jobs = session.scalars(select(TimerJob).filter_by(instance_id=self.view.id))
            return {job.task_name: as_utc(job.due_at) for job in jobs}

    def waiting_messages(self) -> set[str]:
        with self.db.reader() as session:
            query = select(MessageSubscription.message_name).filter_by(instance_id=self.view.id)
            return set(session.scalars(query))

    def outbox(self) -> list[tuple[str, dict[str, Any]]]:
        with self.db.reader() as session:
            query = (
                select(OutboundMessage)
                .filter_by(instance_id=self.view.id)
                .order_by(OutboundMessage.id)
            )
            return [(m.message_name, json.loads(m.payload)) for m in session.scalars(query)]

    def data(self) -> dict[str, Any]:
        """The data of the case's most recent task (what a caseworker would see now)."""
        with self.db.reader() as session:
            instance = session.get(ProcessInstance, self.view.id)
            assert instance is not None
            workflow = self.runtime._load(instance)
        return dict(workflow.last_task.data) if workflow.last_task else {}


def stored_text_of(db: Database, instance_id: int) -> str:
    """Everything the database keeps about one case, as text: state, audit, values, outbox."""
    with db.reader() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        parts = [gzip.decompress(instance.state).decode("utf-8")]
        events = session.scalars(select(AuditEvent).filter_by(instance_id=instance_id))
        parts += [event.payload for event in events]
        messages = session.scalars(select(OutboundMessage).filter_by(instance_id=instance_id))
        parts += [message.payload for message in messages]
        values = session.scalars(select(CaseValue).filter_by(instance_id=instance_id))
        parts += [f"{value.field} {value.before} {value.after}" for value in values]
    return "\n".join(parts)
