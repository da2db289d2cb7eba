"""The semantic graph a diagram is drawn from, read out of BPMN XML.

Only what placement needs is kept: flow nodes with their lane and shape kind,
flows, boundary attachments and the collaboration's pools. Anything that
cannot be drawn raises :class:`LayoutError` naming the element, because the
modeller has to fix the XML, not the layout.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"

ACTIVITIES = frozenset(
    {
        "task",
        "userTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "manualTask",
        "serviceTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
    }
)
SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
EVENTS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
    }
)
GATEWAYS = frozenset(
    {
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
    }
)
FLOW_NODES = ACTIVITIES | EVENTS | GATEWAYS


class LayoutError(ValueError):
    """The file cannot be laid out; the message names the element to fix."""


@dataclass(frozen=True)
class Node:
    id: str
    tag: str
    name: str
    lane: int
    host: str | None = None

    @property
    def is_event(self) -> bool:
        return self.tag in EVENTS

    @property
    def is_gateway(self) -> bool:
        return self.tag in GATEWAYS


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    name: str = ""
    message: str = ""


@dataclass(frozen=True)
class Note:
    """A text annotation drawn above the flow node its association points at."""

    annotation: str
    association: str
    node: str


@dataclass(frozen=True)
class Diagram:
    plane: str
    pool: str | None
    lanes: tuple[str, ...]
    nodes: dict[str, Node]
    flows: tuple[Flow, ...]
    black_boxes: tuple[str, ...]
    message_flows: tuple[Flow, ...]
    notes: tuple[Note, ...]


def q(tag: str) -> str:
    return f"{{{BPMN}}}{tag}"


def local_name(element: etree._Element) -> str | None:
    """The BPMN tag without namespace, or None for comments and foreign elements."""
    if not isinstance(element.tag, str):
        return None
    name = etree.QName(element)
    return name.localname if name.namespace == BPMN else None


def required_id(element: etree._Element) -> str:
    element_id = element.get("id")
    if not element_id:
        raise LayoutError(f"a bpmn:{local_name(element)} on line {element.sourceline} has no id")
    return element_id


def read_diagram(root: etree._Element) -> Diagram:
    """The one process to draw (the pooled one), its lanes, flows and the partner pools."""
    if root.tag != q("definitions"):
        raise LayoutError("the root element is not bpmn:definitions")
    collaboration = root.find(q("collaboration"))
    participants = [] if collaboration is None else collaboration.findall(q("participant"))
    pooled = [p for p in participants if p.get("processRef")]
    process = _main_process(root, collaboration, pooled)
    lanes = _lanes(process)
    nodes = _nodes(process, lanes)
    pool = required_id(pooled[0]) if pooled else None
    black_boxes = tuple(required_id(p) for p in participants if not p.get("processRef"))
    containers = [process] if collaboration is None else [process, collaboration]
    return Diagram(
        plane=required_id(process if collaboration is None else collaboration),
        pool=pool,
        lanes=tuple(required_id(lane) for lane in lanes),
        nodes=nodes,
        flows=_sequence_flows(process, nodes),
        black_boxes=black_boxes,
        message_flows=_message_flows(root, nodes, pool, black_boxes),
        notes=_notes(containers, nodes),
    )


def _main_process(
    root: etree._Element, collaboration: etree._Element | None, pooled: list[etree._Element]
) -> etree._Element:
    processes = {p.get("id"): p for p in root.findall(q("process"))}
    if not processes:
        raise LayoutError("the file has no bpmn:process")
    if len(pooled) > 1:
        raise LayoutError("only one participant may reference a process; draw the others as pools")
    if pooled:
        reference = pooled[0].get("processRef")
        if reference not in processes:
            raise LayoutError(f"participant {pooled[0].get('id')} references missing process")
        return processes[reference]
    if collaboration is not None:
        raise LayoutError(f"no participant of {collaboration.get('id')} references a process")
    executable = [p for p in processes.values() if p.get("isExecutable") == "true"]
    candidates = executable or list(processes.values())
    if len(candidates) > 1:
        raise LayoutError("several processes and no collaboration: add one to choose the pool")
    return candidates[0]


def _lanes(process: etree._Element) -> list[etree._Element]:
    lane_set = process.find(q("laneSet"))
    lanes = [] if lane_set is None else lane_set.findall(q("lane"))
    for lane in lanes:
        if lane.find(q("childLaneSet")) is not None:
            raise LayoutError(f"lane {lane.get('id')} has child lanes, which are not supported")
    return lanes


def _nodes(process: etree._Element, lanes: list[etree._Element]) -> dict[str, Node]:
    lane_of: dict[str, int] = {}
    for index, lane in enumerate(lanes):
        for ref in lane.findall(q("flowNodeRef")):
            lane_of.setdefault((ref.text or "").strip(), index)
    elements = {required_id(e): e for e in process if local_name(e) in FLOW_NODES}
    nodes: dict[str, Node] = {}
    for node_id, element in elements.items():
        tag = local_name(element) or ""
        host = _host(node_id, element, elements) if tag == "boundaryEvent" else None
        lane = lane_of.get(host or node_id)
        if lane is None and lanes:
            raise LayoutError(f"flow node {host or node_id} is in no lane")
        if host and lane_of.get(node_id, lane) != lane:
            raise LayoutError(f"boundary event {node_id} is not in the lane of {host}")
        nodes[node_id] = Node(node_id, tag, element.get("name") or "", lane or 0, host)
    return nodes


def _host(node_id: str, element: etree._Element, elements: dict[str, etree._Element]) -> str:
    host = element.get("attachedToRef") or ""
    if host not in elements or local_name(elements[host]) not in ACTIVITIES:
        raise LayoutError(f"boundary event {node_id} is attached to unknown activity {host!r}")
    return host


def _sequence_flows(process: etree._Element, nodes: dict[str, Node]) -> tuple[Flow, ...]:
    flows = []
    for element in process.findall(q("sequenceFlow")):
        flow = _flow(element)
        for end in (flow.source, flow.target):
            if end not in nodes:
                raise LayoutError(f"sequence flow {flow.id} references missing node {end!r}")
        flows.append(flow)
    return tuple(flows)


def _flow(element: etree._Element) -> Flow:
    return Flow(
        required_id(element),
        element.get("sourceRef") or "",
        element.get("targetRef") or "",
        element.get("name") or "",
    )


def _message_flows(
    root: etree._Element,
    nodes: dict[str, Node],
    pool: str | None,
    black_boxes: tuple[str, ...],
) -> tuple[Flow, ...]:
    """Message flows, each with the name bpmn-js writes on it (its message's)."""
    collaboration = root.find(q("collaboration"))
    if collaboration is None:
        return ()
    messages = {m.get("id"): m.get("name") or "" for m in root.findall(q("message"))}
    inside = set(nodes) | ({pool} if pool else set())
    flows = []
    for element in collaboration.findall(q("messageFlow")):
        flow = replace(_flow(element), message=messages.get(element.get("messageRef"), ""))
        for end in (flow.source, flow.target):
            if end not in inside and end not in black_boxes:
                raise LayoutError(f"message flow {flow.id} references missing element {end!r}")
        if (flow.source in inside and flow.target in inside) or flow.source == flow.target:
            raise LayoutError(f"message flow {flow.id} must connect two different pools")
        flows.append(flow)
    return tuple(flows)


def _notes(containers: list[etree._Element], nodes: dict[str, Node]) -> tuple[Note, ...]:
    annotations = {
        e.get("id") for c in containers for e in c.findall(q("textAnnotation")) if e.get("id")
    }
    notes = []
    for container in containers:
        for association in container.findall(q("association")):
            ends = (association.get("sourceRef"), association.get("targetRef"))
            annotation = next((e for e in ends if e in annotations), None)
            node = next((e for e in ends if e in nodes), None)
            if annotation and node:
                notes.append(Note(annotation, required_id(association), node))
    return tuple(notes)
