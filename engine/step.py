"""What one command collects while the engine runs, before it is written in one go."""

from __future__ import annotations

from dataclasses import dataclass, field

from SpiffWorkflow.bpmn import BpmnEvent
from SpiffWorkflow.task import Task

from engine import audit


@dataclass
class Step:
    """The audit events, engine steps and thrown events of one command."""

    events: list[audit.PendingEvent] = field(default_factory=list)
    engine_steps: list[dict[str, str]] = field(default_factory=list)
    thrown: list[BpmnEvent] = field(default_factory=list)

    def record_engine_step(self, task: Task) -> None:
        spec = task.task_spec
        if spec.bpmn_id:
            self.engine_steps.append({"task": spec.bpmn_id, "type": type(spec).__name__})
