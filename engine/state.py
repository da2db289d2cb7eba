"""Instance state without the spec: what a ProcessInstance row stores.

The workflow converter is replaced by one that leaves out the spec and the
subprocess specs (they live once on the model version) and takes the cached
spec objects on load.

A case can outlive many releases, so the document carries two format
versions: SpiffWorkflow's ``serializer_version`` (its migrations run first)
and :data:`STATE_VERSION_KEY`, nrmflow's own (for changes to what nrmflow
keeps in task data or in this converter). On load the library migrates,
then every nrmflow migration from the stored version up to
:data:`STATE_VERSION` runs in order. A document without the key predates it
and is version 1. A document newer than this code is refused: guessing at a
format written by a later release could silently lose case data.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Sequence
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

from engine.errors import WorkflowFailed
from engine.pruning import REACHED_ATTRIBUTE, prune

STATE_VERSION_KEY = "nrmflow_state_version"

Migration = Callable[[dict[str, Any]], None]

# MIGRATIONS[n - 1] turns a version n document into version n + 1, in place;
# STATE_VERSION follows: to change the stored format, add one entry here.
# Never edit or remove an entry: cases saved by every release since must keep loading.
MIGRATIONS: tuple[Migration, ...] = ()
STATE_VERSION = len(MIGRATIONS) + 1


class StateFormatUnsupported(WorkflowFailed):
    """A stored state this code cannot read (saved by a newer nrmflow): upgrade, never guess.

    A :class:`WorkflowFailed`, so the timer worker logs it and leaves the timer
    due, and the case keeps its state until the right release runs.
    """


class SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        document = WorkflowConverter.to_dict(self, workflow)
        document["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        document["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        document[REACHED_ATTRIBUTE] = sorted(
            getattr(workflow, REACHED_ATTRIBUTE, ()), key=lambda fact: tuple(map(str, fact))
        )
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
        facts = dct.pop(REACHED_ATTRIBUTE, [])  # absent before pruning: the tree holds it all
        setattr(workflow, REACHED_ATTRIBUTE, {tuple(fact) for fact in facts})
        return workflow


class StateSerializer(BpmnWorkflowSerializer):
    """Stamps nrmflow's format version beside the library's ``serializer_version``."""

    def to_dict(self, obj: Any, **kwargs: Any) -> dict[str, Any]:
        document: dict[str, Any] = super().to_dict(obj, **kwargs)
        if isinstance(obj, BpmnWorkflow):
            document[STATE_VERSION_KEY] = STATE_VERSION
        return document


_config = dict(SPIFF_CONFIG)
_config[BpmnWorkflow] = SpeclessWorkflowConverter
REGISTRY = BpmnWorkflowSerializer.configure(_config)
SERIALIZER = StateSerializer(REGISTRY)


# Saved on every step: level 6 compresses an NRM case's state in a third of level 9's
# time (0.5 against 1.3 ms) for 2% more bytes (benchmarks/engine_overhead.py).
STATE_COMPRESSION = 6


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """gzip'd JSON text: never JSONB, which reorders the keys task data depends on.

    The finished past is pruned from ``workflow`` first (in place), so what is
    saved, and what the caller goes on with, stays small (engine/pruning.py).
    """
    prune(workflow)
    text = SERIALIZER.serialize_json(workflow).encode("utf-8")
    return gzip.compress(text, compresslevel=STATE_COMPRESSION)


def migrate_document(
    document: dict[str, Any], migrations: Sequence[Migration] = MIGRATIONS
) -> dict[str, Any]:
    """Bring a stored document, in place, to the format this code reads.

    ``migrations`` is a parameter only so that tests can exercise the chain
    before nrmflow has needed a migration of its own.
    """
    newest = len(migrations) + 1
    stored = document.pop(STATE_VERSION_KEY, 1)
    if type(stored) is not int or stored < 1:  # not a bool either
        raise StateFormatUnsupported(
            f"the stored case state has an unreadable format version ({stored!r})"
        )
    if stored > newest:
        raise StateFormatUnsupported(
            f"the case was saved in state format {stored}, newer than the {newest} this "
            "nrmflow reads; upgrade nrmflow before opening it"
        )
    SERIALIZER.migrate(document)
    for migration in migrations[stored - 1 :]:
        migration(document)
    return document


def load_state(
    packed: bytes,
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    script_engine: PythonScriptEngine,
) -> BpmnWorkflow:
    document = migrate_document(json.loads(gzip.decompress(packed)))
    workflow = SERIALIZER.from_dict(document, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
