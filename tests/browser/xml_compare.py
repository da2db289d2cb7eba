"""Whether two BPMN documents say the same, whatever a modeler rewrote on the way.

The modeler round-trip tests compare a file with what bpmn-js writes back;
the comparison is a tool of its own, with its own tests of whether it can
fail (in ``test_modeler_round_trip``), so it lives apart from the browser
work. Documents are compared element by element: namespaces, attributes and
text, with prefixes, attribute order and whitespace-only text ignored. What
bpmn-js rewrites on purpose is allowed one rule at a time, each with its
reason; everything else must match exactly.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.safexml import parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"

# Allowance 1: moddle never writes an attribute whose value is its schema default
# (bpmn-moddle's descriptor), so an explicit default is dropped; the file means
# the same without it. Only the exact default text is allowed to go: an
# `isExecutable="1"` or a `cancelActivity="false"` that disappeared is a loss.
SCHEMA_DEFAULTS = {
    (BPMN, "behavior"): "All",
    (BPMN, "cancelActivity"): "true",
    (BPMN, "cancelRemainingInstances"): "true",
    (BPMN, "completionQuantity"): "1",
    (BPMN, "eventGatewayType"): "Exclusive",
    (BPMN, "expressionLanguage"): "http://www.w3.org/1999/XPath",
    (BPMN, "gatewayDirection"): "Unspecified",
    (BPMN, "instantiate"): "false",
    (BPMN, "isCollection"): "false",
    (BPMN, "isForCompensation"): "false",
    (BPMN, "isInterrupting"): "true",
    (BPMN, "isSequential"): "false",
    (BPMN, "isUnlimited"): "true",
    (BPMN, "parallelMultiple"): "false",
    (BPMN, "startQuantity"): "1",
    (BPMN, "testBefore"): "false",
    (BPMN, "textFormat"): "text/plain",
    (BPMN, "triggeredByEvent"): "false",
    (BPMN, "typeLanguage"): "http://www.w3.org/2001/XMLSchema",
    (BPMN, "waitForCompletion"): "true",
    (BPMNDI, "messageVisibleKind"): "initiating",
}
# Allowance 2: diagram coordinates are numbers to bpmn-js, written back in their
# shortest form ("740.0" becomes "740", and the default "0" is not written at
# all); they are compared as numbers.
NUMERIC_DEFAULTS: dict[tuple[str, str], float | None] = {
    (DC, "x"): 0.0,
    (DC, "y"): 0.0,
    (DC, "width"): None,
    (DC, "height"): None,
    (DC, "size"): None,  # dc:Font
    (DI, "x"): 0.0,  # di:waypoint is a dc:Point
    (DI, "y"): 0.0,
}
# Allowance 3: bpmn-js writes a plane's shapes and edges in drawing order (its
# BpmnDiOrdering, so that what is drawn on top stays on top), so their order
# is not compared; every other element keeps its place among its siblings.
UNORDERED_CHILDREN = {f"{{{BPMNDI}}}BPMNPlane"}


Canonical = tuple[Any, ...]


def canonical(element: etree._Element) -> Canonical:
    """An element as a nested tuple: qualified tag, attributes, text, children.

    Prefixes vanish (lxml names carry the namespace URI), attributes are
    sorted, whitespace-only text and tails are dropped; comments and
    processing instructions are kept, so losing one shows.
    """
    if not isinstance(element.tag, str):
        return ("#" + type(element).__name__, element.text or "")
    namespace = etree.QName(element).namespace or ""
    attributes = []
    for name, value in element.attrib.items():
        kept = _attribute(namespace, name, value)
        if kept is not None:
            attributes.append((name, kept))
    children: list[Canonical] = []
    for child in element:
        children.append(canonical(child))
        if child.tail and child.tail.strip():
            children.append(("#tail", child.tail))
    if element.tag in UNORDERED_CHILDREN:
        children.sort(key=repr)
    text = element.text if element.text and element.text.strip() else ""
    return (element.tag, tuple(sorted(attributes)), text, tuple(children))


def _attribute(namespace: str, name: str, value: str) -> str | float | None:
    """The value to compare, or None where an allowance says it may be left out."""
    key = (namespace, name)  # unqualified attributes belong to their element's schema
    if key in NUMERIC_DEFAULTS:
        number = float(value)
        return None if number == NUMERIC_DEFAULTS[key] else number
    if SCHEMA_DEFAULTS.get(key) == value:
        return None
    return value


def first_difference(before: Canonical, after: Canonical, path: str = "") -> str | None:
    """Where two canonical trees part, said so a person can find it in the file."""
    tag = before[0]
    here = f"{path}/{tag}" + (f"[@id={_id(before)}]" if _id(before) else "")
    if tag != after[0]:
        return f"{here}: became {after[0]}"
    if tag.startswith("#"):
        return None if before == after else f"{here}: {before[1]!r} became {after[1]!r}"
    if before[1] != after[1]:
        return f"{here}: attributes {dict(before[1])} became {dict(after[1])}"
    if before[2] != after[2]:
        return f"{here}: text {before[2]!r} became {after[2]!r}"
    for old, new in zip(before[3], after[3], strict=False):
        found = first_difference(old, new, here)
        if found:
            return found
    if len(before[3]) != len(after[3]):
        lost = [child[0] for child in before[3][len(after[3]) :]]
        added = [child[0] for child in after[3][len(before[3]) :]]
        return f"{here}: children lost {lost}, added {added}"
    return None


def _id(node: Canonical) -> str:
    return str(dict(node[1]).get("id", "")) if not node[0].startswith("#") else ""


def difference(before_xml: str, after_xml: str) -> str | None:
    """Where ``after_xml`` first says something else than ``before_xml``; None if nowhere."""
    before = canonical(parse_xml(before_xml.encode("utf-8")).getroot())
    after = canonical(parse_xml(after_xml.encode("utf-8")).getroot())
    return first_difference(before, after)
