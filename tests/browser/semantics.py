"""What a BPMN file says must be drawn, read from its semantic XML (not its DI).

Reading the process itself, not the diagram, is the point: a node or flow that
the layout forgot is then a missing shape, not a silently smaller picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"

TASKS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
    }
)
EVENTS = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "implicitThrowEvent",
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
ACTIVITIES = frozenset({"callActivity", "subProcess", "adHocSubProcess", "transaction"})
FLOW_NODES = TASKS | EVENTS | GATEWAYS | ACTIVITIES
FLOWS = frozenset({"sequenceFlow", "messageFlow"})


@dataclass(frozen=True)
class ProcessModel:
    """The ids a rendering of one file must account for."""

    flow_nodes: frozenset[str]
    boundary_events: frozenset[str]
    flows: frozenset[str]
    lanes: dict[str, tuple[str, ...]]  # lane id -> its flowNodeRefs


def read_model(path: Path) -> ProcessModel:
    root = etree.parse(str(path), etree.XMLParser(resolve_entities=False)).getroot()
    flow_nodes: set[str] = set()
    boundary_events: set[str] = set()
    flows: set[str] = set()
    lanes: dict[str, tuple[str, ...]] = {}
    for element in root.iter(f"{{{BPMN}}}*"):
        kind, element_id = etree.QName(element).localname, element.get("id")
        if element_id is None:
            continue
        if kind in FLOW_NODES:
            flow_nodes.add(element_id)
            if kind == "boundaryEvent":
                boundary_events.add(element_id)
        elif kind in FLOWS:
            flows.add(element_id)
        elif kind == "lane":
            refs = element.findall(f"{{{BPMN}}}flowNodeRef")
            lanes[element_id] = tuple((ref.text or "").strip() for ref in refs)
    return ProcessModel(frozenset(flow_nodes), frozenset(boundary_events), frozenset(flows), lanes)
