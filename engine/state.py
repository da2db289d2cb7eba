"""Instance state without the spec: what a ProcessInstance row stores.

The workflow converter is replaced by one that leaves out the spec and the
subprocess specs (they live once on the model version) and takes the cached
spec objects on load. The document keeps SpiffWorkflow's
``serializer_version`` so older states go through its migrations on load.
"""

from __future__ import annotations

import gzip
import json
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        document = WorkflowConverter.to_dict(self, workflow)
        document["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        document["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return document

    def from_dict(  # type: ignore[override]
        self,
        dct: dict[str, Any],
        spec: BpmnProcessSpec,
        subprocess_specs: dict[str, BpmnProcessSpec],
    ) -> BpmnWorkflow:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpeclessWorkflowConverter
REGISTRY = BpmnWorkflowSerializer.configure(_config)
SERIALIZER = BpmnWorkflowSerializer(REGISTRY)


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """gzip'd JSON text: never JSONB, which reorders the keys task data depends on."""
    return gzip.compress(SERIALIZER.serialize_json(workflow).encode("utf-8"))


def load_state(
    packed: bytes,
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    script_engine: PythonScriptEngine,
) -> BpmnWorkflow:
    document = json.loads(gzip.decompress(packed))
    SERIALIZER.migrate(document)
    workflow = SERIALIZER.from_dict(document, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
