"""A decision table that matches no rule is a failed step, not an empty answer.

SpiffWorkflow's DMN engine returns ``{}`` when no rule matches, so the
process goes on without the decision's outputs and fails later, somewhere
that does not name the table (or, worse, takes a default path). In a
referral mechanism a risk level nobody decided is a fault in the model: the
step fails at the business rule task, the case keeps its last committed
state and an incident names the table.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine


class NoMatchingRule(Exception):
    """No rule of a decision table matched the task's data."""


class StrictDecisionEngine(DMNEngine):
    """The library's engine, refusing to decide when no rule matched."""

    def decide(self, task: Any) -> list[Any]:
        rules = super().decide(task)
        if not rules:
            table = self.decision_table
            raise NoMatchingRule(
                f"no rule of decision table '{table.name or table.id}' matches the case data"
            )
        return rules


def make_decisions_strict(specs: list[BpmnProcessSpec]) -> None:
    """Give every business rule task of ``specs`` the strict engine.

    Done on the restored (cached) spec objects only: the stored spec and its
    hash stay SpiffWorkflow's own, so nothing stored depends on this class.
    """
    for spec in specs:
        for task_spec in spec.task_specs.values():
            engine = getattr(task_spec, "dmnEngine", None)
            if type(engine) is DMNEngine:
                engine.__class__ = StrictDecisionEngine
