"""What makes a drawn diagram clean, as checks that list every problem they find.

Each check returns readable problems rather than failing on the first, so one
test run says everything that is wrong with a diagram's layout.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations

from tests.browser.semantics import ProcessModel
from tests.browser.viewer import Rendering, Shape

CONTAINERS = frozenset({"bpmn:Participant", "bpmn:Lane", "bpmn:Transaction"})


def import_problems(rendering: Rendering) -> list[str]:
    problems = [f"import failed: {rendering.error}"] if rendering.error else []
    return problems + [f"import warning: {warning}" for warning in rendering.warnings]


def nodes_without_shape(model: ProcessModel, rendering: Rendering) -> list[str]:
    problems = []
    for node_id in sorted(model.flow_nodes):
        shape = rendering.shapes.get(node_id)
        if shape is None or shape.box is None:
            problems.append(f"{node_id}: no shape drawn")
        elif shape.box.width <= 0 or shape.box.height <= 0:
            problems.append(f"{node_id}: shape of no size {shape.box}")
    return problems


def flows_not_drawn(model: ProcessModel, rendering: Rendering) -> list[str]:
    problems = []
    for flow_id in sorted(model.flows):
        shape = rendering.shapes.get(flow_id)
        if shape is None or shape.waypoints is None:
            problems.append(f"{flow_id}: no connection drawn")
        elif len(shape.waypoints) < 2:
            problems.append(f"{flow_id}: connection with {len(shape.waypoints)} waypoint(s)")
    return problems


def overlapping_nodes(model: ProcessModel, rendering: Rendering) -> list[str]:
    """Boundary events sit on their host's edge by design, and a node inside an
    expanded sub-process sits inside it: neither is an overlap."""
    nodes = [
        shape
        for node_id in sorted(model.flow_nodes - model.boundary_events)
        if (shape := rendering.shapes.get(node_id)) is not None and shape.box is not None
    ]
    return [
        f"{first.id} {first.box} overlaps {second.id} {second.box}"
        for first, second in combinations(nodes, 2)
        if first.plane == second.plane
        and first.box.overlaps(second.box)
        and not _nested(first, second, rendering)
    ]


def nodes_outside_their_lane(model: ProcessModel, rendering: Rendering) -> list[str]:
    problems = []
    for lane_id, refs in sorted(model.lanes.items()):
        lane = rendering.shapes.get(lane_id)
        if lane is None or lane.box is None:
            problems.append(f"lane {lane_id}: not drawn")
            continue
        for node_id in refs:
            node = rendering.shapes.get(node_id)
            if node is not None and node.box is not None and not lane.box.contains(node.box):
                problems.append(f"{node_id} {node.box} outside lane {lane_id} {lane.box}")
    return problems


def overlapping_labels(rendering: Rendering) -> list[str]:
    """The text beside a node or on a flow must not run into other such text or into a node.

    The drawn text is measured, not the DI label bounds: bpmn-js centres and wraps
    it on its own, and writes a message flow's message name with no DI at all.
    """
    texts = [
        shape
        for shape in rendering.shapes.values()
        if shape.text is not None and (shape.type == "label" or shape.waypoints is not None)
    ]
    nodes = [
        shape
        for shape in rendering.shapes.values()
        if shape.box is not None and shape.type != "label" and not _is_container(shape)
    ]
    problems = [
        f"{_text_of(first)} {first.text} overlaps {_text_of(second)} {second.text}"
        for first, second in combinations(texts, 2)
        if first.plane == second.plane and first.text.overlaps(second.text)
    ]
    problems += [
        f"{_text_of(text)} {text.text} overlaps {node.id} {node.box}"
        for text in texts
        for node in nodes
        if node.id not in {text.id, text.label_target}
        and node.plane == text.plane
        and text.text.overlaps(node.box)
    ]
    return sorted(problems)


def text_outside_its_node(model: ProcessModel, rendering: Rendering) -> list[str]:
    """A task's name is wrapped inside its box; a name too long for the box spills out."""
    return [
        f"{node_id}: text {shape.text} spills out of its shape {shape.box}"
        for node_id in sorted(model.flow_nodes)
        if (shape := rendering.shapes.get(node_id)) is not None
        and shape.box is not None
        and shape.text is not None
        and not shape.box.contains(shape.text)
    ]


def _text_of(shape: Shape) -> str:
    if shape.label_target is not None:
        return f"label of {shape.label_target}"
    return f"message name on {shape.id}"


def _is_container(shape: Shape) -> bool:
    return shape.type in CONTAINERS or shape.type.endswith("SubProcess")


def _nested(first: Shape, second: Shape, rendering: Rendering) -> bool:
    return first.id in _ancestors(second, rendering) or second.id in _ancestors(first, rendering)


def _ancestors(shape: Shape, rendering: Rendering) -> Iterator[str]:
    parent = rendering.shapes.get(shape.parent)
    while parent is not None:
        yield parent.id
        parent = rendering.shapes.get(parent.parent)
