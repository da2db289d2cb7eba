"""Label bounds for the names of events, gateways and flows.

bpmn-js draws an external label wherever its DI bounds say, so a careless
label lands on a shape, on another label or across a line, and a crowded
diagram is read by its labels. Each label tries a few spots next to what it
names and takes the first free one: free of everything if possible, else at
least of shapes and other labels, else the first spot.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import pairwise

from engine.layout_grid import Box, Placement, wrapped_lines
from engine.layout_model import Diagram
from engine.layout_route import Point

LABEL_WIDTH, LINE_HEIGHT, CHARS_PER_LINE, CHAR_WIDTH = 90, 14, 15, 7
OFFSET, MARGIN = 5, 2

Segment = tuple[Point, Point]


def place_labels(
    diagram: Diagram,
    placement: Placement,
    routes: dict[str, tuple[Point, ...]],
    obstacles: Iterable[Box],
) -> dict[str, Box]:
    """Label bounds by element id; nodes first, so a flow's label yields to a node's."""
    spots = _Spots([*placement.nodes.values(), *obstacles], routes)
    labels = {}
    for node in diagram.nodes.values():
        if node.name and (node.is_event or node.is_gateway):
            box = placement.nodes[node.id]
            labels[node.id] = spots.take(node.id, _around(text_size(node.name), box))
    for flow in (*diagram.flows, *diagram.message_flows):
        if flow.name:
            segments = _own_segments(flow.id, routes)
            labels[flow.id] = spots.take(flow.id, _along(text_size(flow.name), segments))
    return labels


def _own_segments(flow_id: str, routes: dict[str, tuple[Point, ...]]) -> list[Segment]:
    """The flow's segments no other flow runs along: a label there names only this flow."""
    others = [s for other, points in routes.items() if other != flow_id for s in pairwise(points)]
    segments = list(pairwise(routes[flow_id]))
    own = [s for s in segments if not any(_shared(s, other) for other in others)]
    return own or segments


def text_size(text: str) -> tuple[int, int]:
    """The size bpmn-js gives an external label: 11 px text wrapped at 90 px."""
    lines = wrapped_lines(text, CHARS_PER_LINE)
    width = LABEL_WIDTH if lines > 1 else min(LABEL_WIDTH, CHAR_WIDTH * len(text) + 4)
    return width, LINE_HEIGHT * lines


class _Spots:
    def __init__(self, shapes: list[Box], routes: dict[str, tuple[Point, ...]]):
        self.taken = shapes
        self.routes = routes

    def take(self, owner: str, candidates: list[Box]) -> Box:
        lines = [
            segment
            for flow_id, points in self.routes.items()
            if flow_id != owner
            for segment in pairwise(points)
        ]
        chosen = next((c for c in candidates if self._free(c, lines)), None)
        if chosen is None:
            chosen = next((c for c in candidates if self._free(c, [])), candidates[0])
        self.taken.append(chosen)
        return chosen

    def _free(self, box: Box, lines: list[Segment]) -> bool:
        grown = Box(box.x - MARGIN, box.y - MARGIN, box.width + 2 * MARGIN, box.height + 2 * MARGIN)
        return not any(_overlap(grown, other) for other in self.taken) and not any(
            _cuts(grown, a, b) for a, b in lines
        )


def _around(size: tuple[int, int], box: Box) -> list[Box]:
    """Below the shape (centred, right, left of its bottom port), then above it."""
    width, height = size
    below, above = box.bottom + OFFSET, box.y - OFFSET - height
    xs = (box.cx - width // 2, box.cx + 6, box.cx - 6 - width)
    return [Box(x, below, width, height) for x in xs] + [Box(x, above, width, height) for x in xs]


def _along(size: tuple[int, int], segments: list[Segment]) -> list[Box]:
    """Beside the first segment, the second, then the last: near each end, on either side."""
    picked = dict.fromkeys((segments[0], segments[min(1, len(segments) - 1)], segments[-1]))
    return [spot for start, end in picked for spot in _beside(size, start, end)]


def _beside(size: tuple[int, int], start: Point, end: Point) -> list[Box]:
    """Near either end on either side, then centred and stepped away from a short segment."""
    width, height = size
    (x1, y1), (x2, y2) = start, end
    steps = [LINE_HEIGHT * k for k in range(1, 4)]
    if y1 == y2:
        near_start = x1 + OFFSET if x2 > x1 else x1 - OFFSET - width
        near_end = x2 - OFFSET - width if x2 > x1 else x2 + OFFSET
        above, below = y1 - OFFSET - height, y1 + OFFSET
        spots = [(x, y) for x in (near_start, near_end) for y in (above, below)]
        middle = (x1 + x2 - width) // 2
        spots += [(middle, y) for step in steps for y in (above - step, below + step)]
    else:
        near_start = y1 + OFFSET if y2 > y1 else y1 - OFFSET - height
        near_end = y2 - OFFSET - height if y2 > y1 else y2 + OFFSET
        right, left = x1 + OFFSET, x1 - OFFSET - width
        spots = [(x, y) for y in (near_start, near_end) for x in (right, left)]
        middle = (y1 + y2 - height) // 2
        spots += [(x, middle) for step in steps for x in (right + step, left - step)]
    return [Box(x, y, width, height) for x, y in spots]


def _overlap(a: Box, b: Box) -> bool:
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


def _cuts(box: Box, a: Point, b: Point) -> bool:
    return (
        min(a[0], b[0]) <= box.right
        and max(a[0], b[0]) >= box.x
        and min(a[1], b[1]) <= box.bottom
        and max(a[1], b[1]) >= box.y
    )


def _shared(first: Segment, second: Segment) -> bool:
    """Whether two segments run along the same line for some length."""
    (ax, ay), (bx, by) = first
    (cx, cy), (dx, dy) = second
    if ay == by == cy == dy:
        return min(max(ax, bx), max(cx, dx)) > max(min(ax, bx), min(cx, dx))
    if ax == bx == cx == dx:
        return min(max(ay, by), max(cy, dy)) > max(min(ay, by), min(cy, dy))
    return False
