"""What changed in a process between two versions, element by element, for the version diff page.

A coordinator comparing versions wants to know which shapes behave differently,
not which bytes moved: the layout, a modeler's namespace prefixes, its
indentation and the ``bpmn:incoming``/``bpmn:outgoing`` lists it derives from the
flows are not changes. Each element is compared by what it says (attributes,
text, extension elements, event definitions) and a difference is named by the
aspect a person recognises in the diagram ("timer", "form", "lane").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from engine.layout_model import BPMN, FLOW_NODES, SUBPROCESSES, local_name, q
from engine.safexml import parse_xml
from engine.validation import FORM_PROPERTY

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

_ATTRIBUTE_ASPECTS = {
    "name": "name",
    "calledElement": "called process",
    "sourceRef": "source",
    "targetRef": "target",
    "attachedToRef": "attached to",
    "default": "default flow",
}
_CHILD_ASPECTS = {
    "documentation": "documentation",
    "conditionExpression": "condition",
    "script": "script",
    "timerEventDefinition": "timer",
    "standardLoopCharacteristics": "loop",
    "multiInstanceLoopCharacteristics": "loop",
}
_SPIFF_ASPECTS = {"calledDecisionId": "decision", "preScript": "script", "postScript": "script"}
# Children that are compared as elements of their own, are only drawn, or are
# derived from other elements.
_NOT_PART_OF_ELEMENT = FLOW_NODES | {
    "sequenceFlow",
    "laneSet",
    "childLaneSet",
    "flowNodeRef",
    "incoming",
    "outgoing",
    "textAnnotation",
    "association",
    "group",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
}
_CHANGE_ORDER = {"removed": 0, "changed": 1, "added": 2}


@dataclass(frozen=True)
class ElementChange:
    element_id: str
    kind: str  # the BPMN tag's local name: "userTask", "sequenceFlow", "lane", ...
    name: str  # the element's name in the version that has it (the new one if both do)
    change: str  # "added" | "removed" | "changed"
    details: tuple[str, ...]  # for "changed", the aspects that differ: "name", "timer", ...


@dataclass(frozen=True)
class _Element:
    kind: str
    name: str
    aspects: dict[str, list[object]]


def diff_process(old_file: bytes, new_file: bytes, process_id: str) -> list[ElementChange]:
    """The changes to ``process_id`` from ``old_file`` to ``new_file``: removed, changed, added.

    A file without the process has no elements, so every element of the other
    version is added (or removed).
    """
    old = _elements(parse_xml(old_file), process_id)
    new = _elements(parse_xml(new_file), process_id)
    changes = [_whole(i, e, "removed") for i, e in old.items() if i not in new]
    changes += [_whole(i, e, "added") for i, e in new.items() if i not in old]
    for element_id in old.keys() & new.keys():
        after = new[element_id]
        details = _differences(old[element_id], after)
        if details:
            changes.append(ElementChange(element_id, after.kind, after.name, "changed", details))
    return sorted(changes, key=lambda c: (_CHANGE_ORDER[c.change], c.element_id))


def _whole(element_id: str, element: _Element, change: str) -> ElementChange:
    return ElementChange(element_id, element.kind, element.name, change, ())


def _differences(before: _Element, after: _Element) -> tuple[str, ...]:
    aspects = before.aspects.keys() | after.aspects.keys()
    differ = {a for a in aspects if before.aspects.get(a, []) != after.aspects.get(a, [])}
    if before.kind != after.kind:  # a modeler's "change type" keeps the id
        differ.add("type")
    return tuple(sorted(differ))


def _elements(tree: etree._ElementTree, process_id: str) -> dict[str, _Element]:
    """The process's flow elements (sub-processes' too) and lanes, by id."""
    process = next(
        (p for p in tree.getroot().iter(q("process")) if p.get("id") == process_id),
        None,
    )
    if process is None:
        return {}
    lane_of = _lane_of_nodes(process)
    found: dict[str, _Element] = {}
    for element in [*_flow_elements(process), *process.iter(q("lane"))]:
        element_id = element.get("id")
        if element_id and element_id not in found:
            aspects = _aspects(element)
            aspects["lane"].append(lane_of.get(element_id))
            found[element_id] = _Element(
                etree.QName(element).localname, element.get("name") or "", dict(aspects)
            )
    return found


def _flow_elements(container: etree._Element) -> Iterator[etree._Element]:
    for child in container:
        kind = local_name(child)
        if kind in FLOW_NODES or kind == "sequenceFlow":
            yield child
        if kind in SUBPROCESSES:
            yield from _flow_elements(child)


def _lane_of_nodes(process: etree._Element) -> dict[str, str | None]:
    """Each node's innermost lane: nested lanes list a node after their parent does.

    SpiffWorkflow reads a node's lane the same way, last reference winning.
    """
    return {
        ref.text.strip(): ref.getparent().get("id")
        for ref in process.iter(q("flowNodeRef"))
        if ref.text and ref.getparent() is not None
    }


def _aspects(element: etree._Element) -> defaultdict[str, list[object]]:
    aspects: defaultdict[str, list[object]] = defaultdict(list)
    for key, value in sorted(element.attrib.items()):
        if key != "id":
            aspect = _ATTRIBUTE_ASPECTS.get(key, "attributes")
            aspects[aspect].append((key, _attribute_value(element, key, value)))
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        if name.namespace == BPMN and name.localname == "extensionElements":
            _add_extensions(child, aspects)
        elif name.namespace != BPMN:
            aspects["extensions"].append(_canonical(child))
        elif name.localname not in _NOT_PART_OF_ELEMENT:
            aspect = _CHILD_ASPECTS.get(name.localname)
            if aspect is None:
                aspect = "event" if name.localname.endswith("EventDefinition") else "content"
            aspects[aspect].append(_canonical(child))
    return aspects


def _add_extensions(extensions: etree._Element, aspects: defaultdict[str, list[object]]) -> None:
    for child in extensions:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        if name.namespace == SPIFF_NS and name.localname == "properties":
            for prop in child:
                if isinstance(prop.tag, str):
                    form = prop.get("name") == FORM_PROPERTY
                    aspects["form" if form else "extensions"].append(_canonical(prop))
        elif name.namespace == SPIFF_NS and name.localname in _SPIFF_ASPECTS:
            aspects[_SPIFF_ASPECTS[name.localname]].append(_canonical(child))
        else:
            aspects["extensions"].append(_canonical(child))


def _canonical(element: etree._Element) -> tuple[object, ...]:
    """What ``element`` says, free of prefixes, indentation and the ids of its parts."""
    attributes = sorted(
        (key, _attribute_value(element, key, value))
        for key, value in element.attrib.items()
        if key != "id"
    )
    return (
        element.tag,  # {namespace}name: the same whatever prefix the file used
        tuple(attributes),
        (element.text or "").strip(),
        tuple(_canonical(child) for child in element if isinstance(child.tag, str)),
    )


def _attribute_value(element: etree._Element, key: str, value: str) -> str:
    """``xsi:type`` names a type through a prefix, and modelers choose prefixes differently."""
    if key != XSI_TYPE:
        return value
    prefix, _, local = value.rpartition(":")
    return f"{{{element.nsmap.get(prefix or None, '')}}}{local}"
