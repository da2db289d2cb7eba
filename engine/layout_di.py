"""The BPMN DI elements (shapes, edges, labels) for a placed and routed diagram.

Elements come out in a fixed order (pool, lanes, nodes, flows, other pools,
message flows, annotations) so that the same semantic file always yields
the same bytes.
"""

from __future__ import annotations

from collections import Counter

from lxml import etree

from engine.layout_grid import Box, Placement
from engine.layout_labels import place_labels
from engine.layout_model import SUBPROCESSES, Diagram, Node, Note
from engine.layout_route import Point, Router

BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NAMESPACES = {"bpmndi": BPMNDI, "dc": DC, "di": DI}
ANNOTATION_WIDTH, ANNOTATION_HEIGHT, ANNOTATION_LIFT = 100, 30, 45


def build_diagram(diagram: Diagram, placement: Placement) -> etree._Element:
    router = Router(diagram, placement)
    routes = {f.id: router.sequence_flow(f) for f in diagram.flows}
    routes |= {f.id: router.message_flow(f) for f in diagram.message_flows}
    notes = _note_boxes(diagram, placement)
    labels = place_labels(diagram, placement, routes, [*notes.values(), *router.message_names])
    root = etree.Element(
        f"{{{BPMNDI}}}BPMNDiagram", {"id": f"{diagram.plane}_diagram"}, nsmap=NAMESPACES
    )
    plane = etree.SubElement(
        root,
        f"{{{BPMNDI}}}BPMNPlane",
        {"id": f"{diagram.plane}_plane", "bpmnElement": diagram.plane},
    )
    if diagram.pool and placement.pool:
        _shape(plane, diagram.pool, placement.pool, None, isHorizontal="true")
    for lane_id, box in placement.lanes.items():
        _shape(plane, lane_id, box, None, isHorizontal="true")
    for node in diagram.nodes.values():
        _shape(plane, node.id, placement.nodes[node.id], labels.get(node.id), **_flags(node))
    for flow in diagram.flows:
        _edge(plane, flow.id, routes[flow.id], labels.get(flow.id))
    for participant, box in placement.black_boxes.items():
        _shape(plane, participant, box, None, isHorizontal="true")
    for flow in diagram.message_flows:
        _edge(plane, flow.id, routes[flow.id], labels.get(flow.id))
    for annotation, box in notes.items():
        _shape(plane, annotation, box, None)
    for note in diagram.notes:
        _association(plane, note, notes[note.annotation], placement.nodes[note.node])
    return root


def di_ids(diagram: Diagram) -> list[str]:
    """Every id the DI will use, so the caller can refuse clashes with semantic ids."""
    elements = [diagram.pool or "", *diagram.lanes, *diagram.nodes, *diagram.black_boxes]
    elements += [f.id for f in (*diagram.flows, *diagram.message_flows)]
    elements += [n.annotation for n in diagram.notes] + [n.association for n in diagram.notes]
    ids = [f"{e}_di" for e in dict.fromkeys(elements) if e]
    return [f"{diagram.plane}_diagram", f"{diagram.plane}_plane", *ids]


def _flags(node: Node) -> dict[str, str]:
    if node.tag in SUBPROCESSES:
        return {"isExpanded": "false"}
    if node.tag == "exclusiveGateway":
        return {"isMarkerVisible": "true"}
    return {}


def _note_boxes(diagram: Diagram, placement: Placement) -> dict[str, Box]:
    """Each annotation above the first node it is linked to, side by side on a shared node."""
    boxes: dict[str, Box] = {}
    per_node: Counter[str] = Counter()
    for note in diagram.notes:
        if note.annotation not in boxes:
            node = placement.nodes[note.node]
            x = node.x + (ANNOTATION_WIDTH + 10) * per_node[note.node]
            per_node[note.node] += 1
            y = node.y - ANNOTATION_LIFT
            boxes[note.annotation] = Box(x, y, ANNOTATION_WIDTH, ANNOTATION_HEIGHT)
    return boxes


def _association(plane: etree._Element, note: Note, box: Box, node: Box) -> None:
    end = (box.x + 10, node.y) if box.x + 10 < node.right else (node.cx, node.y)
    _edge(plane, note.association, ((box.x + 10, box.bottom), end), None)


def _shape(plane: etree._Element, element: str, box: Box, label: Box | None, **flags: str) -> None:
    shape = etree.SubElement(
        plane, f"{{{BPMNDI}}}BPMNShape", {"id": f"{element}_di", "bpmnElement": element, **flags}
    )
    _bounds(shape, box)
    if label is not None:
        _label(shape, label)


def _edge(
    plane: etree._Element, element: str, points: tuple[Point, ...], label: Box | None
) -> None:
    edge = etree.SubElement(
        plane, f"{{{BPMNDI}}}BPMNEdge", {"id": f"{element}_di", "bpmnElement": element}
    )
    for x, y in points:
        etree.SubElement(edge, f"{{{DI}}}waypoint", {"x": str(x), "y": str(y)})
    if label is not None:
        _label(edge, label)


def _label(parent: etree._Element, box: Box) -> None:
    _bounds(etree.SubElement(parent, f"{{{BPMNDI}}}BPMNLabel"), box)


def _bounds(parent: etree._Element, box: Box) -> None:
    etree.SubElement(
        parent,
        f"{{{DC}}}Bounds",
        {"x": str(box.x), "y": str(box.y), "width": str(box.width), "height": str(box.height)},
    )
