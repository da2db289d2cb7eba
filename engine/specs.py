"""Spec once, state per instance: process specs serialized once per model version.

A parsed spec is immutable at run time, so restored specs are cached per
model version id for the life of the process; instance loads then only
restore their own task tree.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec

from engine.decisions import make_decisions_strict
from engine.state import REGISTRY

SpecPair = tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]


def spec_json(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> str:
    """Canonical text of a spec and its called processes: what is hashed and stored."""
    document = {
        "spec": REGISTRY.convert(spec),
        "subprocess_specs": {name: REGISTRY.convert(s) for name, s in subprocess_specs.items()},
    }
    return canonical_json(document)


def compress(text: str) -> bytes:
    """gzip without a timestamp, so equal text always gives equal bytes."""
    return gzip.compress(text.encode("utf-8"), mtime=0)


def canonical_json(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def restore_spec(packed: bytes) -> SpecPair:
    document = json.loads(gzip.decompress(packed))
    spec = REGISTRY.restore(document["spec"])
    subprocess_specs = {n: REGISTRY.restore(s) for n, s in document["subprocess_specs"].items()}
    make_decisions_strict([spec, *subprocess_specs.values()])
    return spec, subprocess_specs


class SpecCache:
    """Restored specs by model version id; versions never change, so entries never go stale."""

    def __init__(self, limit: int = 256):
        self._specs: dict[int, SpecPair] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def get(self, model_version_id: int, load_packed: Callable[[], bytes]) -> SpecPair:
        found = self._specs.get(model_version_id)
        if found is None:
            found = restore_spec(load_packed())
            with self._lock:
                if len(self._specs) >= self._limit:
                    self._specs.pop(next(iter(self._specs)))
                self._specs[model_version_id] = found
        return found
