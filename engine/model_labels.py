"""What a deployed model calls its things: field titles from its forms, element names from its BPMN.

A case page shows data and history in people's words, and those words belong
to the model version the case runs on (a coordinator may retitle a field in
a later version). Versions never change, so labels are cached by content hash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.bundle import Bundle
from engine.db import Database
from engine.model_sources import ParsedVersions, bpmn_trees
from engine.models import ProcessModelVersion


@dataclass(frozen=True)
class FieldLabel:
    """A form property as a person reads it; ``choices`` maps enum values to their titles."""

    name: str
    title: str
    form_title: str
    kind: str | None
    choices: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelLabels:
    fields: Mapping[str, FieldLabel]
    elements: Mapping[str, str]  # BPMN element id → its name

    def element_title(self, element_id: str) -> str:
        """An element by its name in the diagram, else its id made readable."""
        return self.elements.get(element_id) or readable(element_id)


def readable(identifier: str) -> str:
    """``decide_reasonable_grounds`` → "Decide reasonable grounds": a name when none is given."""
    return identifier.replace("_", " ").capitalize()


def labels_of_bundle(bundle: Bundle) -> ModelLabels:
    """Labels of every form property and named BPMN element; the first form (by path) wins."""
    fields: dict[str, FieldLabel] = {}
    for content in bundle.with_suffix(".json").values():
        schema = json.loads(content)
        if not isinstance(schema, dict):
            continue
        form_title = str(schema.get("title") or "")
        for name, prop in (schema.get("properties") or {}).items():
            if isinstance(prop, dict) and name not in fields:
                fields[name] = _field_label(name, prop, form_title)
    elements: dict[str, str] = {}
    for _content, tree in bpmn_trees(bundle):
        for element in tree.iter():
            element_id, name = element.get("id"), element.get("name")
            if element_id and name and element_id not in elements:
                elements[element_id] = " ".join(name.split())
    return ModelLabels(fields, elements)


def _field_label(name: str, prop: dict[str, Any], form_title: str) -> FieldLabel:
    declared = prop.get("type")
    kind = declared if isinstance(declared, str) else None
    source = prop.get("items") if kind == "array" and isinstance(prop.get("items"), dict) else prop
    enum = source.get("enum") or []
    titles = source.get("x-enumTitles")
    if not isinstance(titles, list) or len(titles) != len(enum):
        titles = enum
    choices = {str(value): str(title) for value, title in zip(enum, titles, strict=True)}
    title = str(prop.get("title") or readable(name))
    return FieldLabel(name, title, form_title, kind, choices)


_labels: ParsedVersions[ModelLabels] = ParsedVersions(labels_of_bundle)


def model_labels(db: Database, key: str, version: int) -> ModelLabels:
    """The labels of version ``version`` of process model ``key``."""
    with db.reader() as session:
        return _labels.get(
            session, ProcessModelVersion.key == key, ProcessModelVersion.version == version
        )
