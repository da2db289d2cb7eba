"""An NRM case on bare SpiffWorkflow, in memory: the baseline persistence is measured against.

It offers the scenario steps of tests/workflows/nrm_steps.py what the database-backed
driver (tests/workflows/nrm_driver.py) offers, so the very same story runs both ways:
tasks completed with the same answers, messages caught, timers fired by a clock the
steps move. No database, no audit, no derived rows, no visibility rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock as engine_clock
from engine.clock import FixedClock
from engine.derived import pending_timers
from engine.messages import inbound_event
from tests.workflows.nrm_driver import MovesTheClock


class InMemoryCase(MovesTheClock):
    """One case in memory, driven by the scenario steps (their ``case`` argument)."""

    def __init__(
        self,
        spec: BpmnProcessSpec,
        subprocess_specs: dict[str, BpmnProcessSpec],
        script_engine: PythonScriptEngine,
        clock: FixedClock,
        start: dict[str, Any],
    ):
        self.clock = clock
        self.workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
        self.fired: list[tuple[str, datetime]] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []
        for task in self.workflow.get_tasks(state=TaskState.READY):
            task.data.update(start)
        self._step()

    def _step(self, action: Any = None) -> None:
        with engine_clock.using(self.clock):
            if action is not None:
                action()
            self.workflow.do_engine_steps()
        for event in self.workflow.get_events():
            if isinstance(event.event_definition, MessageEventDefinition):
                self.sent.append((event.event_definition.name, event.payload or {}))

    # ------------------------------------------------------------ acting

    def open_tasks(self) -> dict[str, Task]:
        ready = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        return {task.task_spec.bpmn_id: task for task in ready}

    def complete(self, task_name: str, data: dict[str, Any], role: str) -> None:
        task = self.open_tasks()[task_name]
        task.data.update(data)
        self._step(task.run)

    def deliver(self, message: str, payload: dict[str, Any], as_user: str) -> None:
        self._step(lambda: self.workflow.catch(inbound_event(message, payload)))

    def fire_due(self) -> list[str]:
        """Fire what is due, as the worker does; return the timers that fired."""
        now = self.clock.now()
        due = {
            timer.task.id: (timer.task.task_spec.bpmn_id, timer.due_at)
            for timer in pending_timers(self.workflow)
            if timer.due_at <= now
        }
        if not due:
            return []
        self._step(self.workflow.refresh_timers)
        still = {timer.task.id: timer.due_at for timer in pending_timers(self.workflow)}
        fired = [name for task_id, (name, at) in due.items() if still.get(task_id) != at]
        self.fired += [(name, now) for name in fired]
        return fired

    # ------------------------------------------------------------ reading

    @property
    def status(self) -> str:
        return "completed" if self.workflow.is_completed() else "running"

    def timers_fired(self) -> list[tuple[str, datetime]]:
        return list(self.fired)

    def waiting_timers(self) -> dict[str, datetime]:
        return {t.task.task_spec.bpmn_id: t.due_at for t in pending_timers(self.workflow)}

    def outbox(self) -> list[tuple[str, dict[str, Any]]]:
        return list(self.sent)
